/** What the browser reads from a JWT: no signature check here, the services verify every call. */

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface Claims {
  subject: string;
  role: Role;
  /** Epoch milliseconds, or null for a token that does not expire. */
  expiresAt: number | null;
}

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokenError";
  }
}

/** Whether `role` may do what `needed` may (viewer < operator < admin). */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

function base64UrlJson(part: string): unknown {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
}

/** The subject, role and expiry of a token; a TokenError says why it cannot be used. */
export function decodeToken(token: string, now: number = Date.now()): Claims {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts.some((part) => part === "")) {
    throw new TokenError("That is not a token: a JWT has three parts separated by dots.");
  }
  let payload: unknown;
  try {
    payload = base64UrlJson(parts[1] ?? "");
  } catch {
    throw new TokenError("That is not a token: its payload cannot be read.");
  }
  if (typeof payload !== "object" || payload === null) {
    throw new TokenError("That is not a token: its payload is not an object.");
  }
  const claims = payload as Record<string, unknown>;
  if (!isRole(claims.role)) {
    throw new TokenError(`The token has no known role (one of ${ROLES.join(", ")}).`);
  }
  const expiresAt = typeof claims.exp === "number" ? claims.exp * 1000 : null;
  if (expiresAt !== null && expiresAt <= now) {
    throw new TokenError("The token has expired: mint a new one (make token ROLE=admin).");
  }
  return {
    subject: typeof claims.sub === "string" ? claims.sub : "unknown",
    role: claims.role,
    expiresAt,
  };
}
