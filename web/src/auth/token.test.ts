import { describe, expect, it } from "vitest";

import { fakeToken } from "../test/tokens";
import { allows, decodeToken, TokenError } from "./token";

describe("decodeToken", () => {
  it("reads the subject, role and expiry", () => {
    const claims = decodeToken(fakeToken("operator", 60, "ada"));
    expect(claims.subject).toBe("ada");
    expect(claims.role).toBe("operator");
    expect(claims.expiresAt).toBeGreaterThan(Date.now());
  });

  it.each([
    ["not a jwt", "three parts"],
    ["a.%%%.c", "cannot be read"],
  ])("refuses %s", (token, message) => {
    expect(() => decodeToken(token)).toThrow(message);
  });

  it("refuses an expired token and an unknown role", () => {
    expect(() => decodeToken(fakeToken("admin", -5))).toThrow(/expired/);
    const forged = fakeToken("admin").replace(/\.[^.]+\./, `.${btoa('{"role":"root"}')}.`);
    expect(() => decodeToken(forged)).toThrow(TokenError);
  });
});

describe("allows", () => {
  it("orders viewer < operator < admin", () => {
    expect(allows("admin", "operator")).toBe(true);
    expect(allows("operator", "operator")).toBe(true);
    expect(allows("viewer", "operator")).toBe(false);
  });
});
