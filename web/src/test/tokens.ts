/** Unsigned JWTs for tests: the console reads claims only, the services check signatures. */
import type { Role } from "../auth/token";

function base64Url(value: object): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fakeToken(role: Role, expiresInS: number | null = 3_600, sub = "tester"): string {
  const claims: Record<string, unknown> = { sub, role };
  if (expiresInS !== null) claims.exp = Math.floor(Date.now() / 1000) + expiresInS;
  return `${base64Url({ alg: "HS256", typ: "JWT" })}.${base64Url(claims)}.signature`;
}
