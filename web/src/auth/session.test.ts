import { afterEach, describe, expect, it } from "vitest";

import { fakeToken } from "../test/tokens";
import { currentSession, login, logout, restore } from "./session";

/** Every place a script of the page could read the token back from. */
function everywhere(): string {
  const dump = (storage: Storage) =>
    Array.from({ length: storage.length }, (_, i) => storage.getItem(storage.key(i) ?? "") ?? "");
  return [...dump(localStorage), ...dump(sessionStorage), document.cookie, location.href].join(
    "\n",
  );
}

describe("the token store", () => {
  afterEach(() => {
    logout();
    localStorage.clear();
    sessionStorage.clear();
  });

  it("keeps the token in sessionStorage only", () => {
    const token = fakeToken("operator");
    login(`  ${token}\n`);
    expect(sessionStorage.getItem("sdp.token")).toBe(token);
    expect(sessionStorage.length).toBe(1);
    expect(localStorage.length).toBe(0);
    expect(document.cookie).not.toContain(token);
    expect(location.href).not.toContain(token);
  });

  it("restores the session from this tab's storage and forgets it on logout", () => {
    const token = fakeToken("admin");
    sessionStorage.setItem("sdp.token", token);
    restore();
    expect(currentSession()?.token).toBe(token);
    logout();
    expect(currentSession()).toBeNull();
    expect(everywhere()).not.toContain(token);
  });

  it("drops a stored token that no longer holds", () => {
    sessionStorage.setItem("sdp.token", fakeToken("admin", -60));
    restore();
    expect(currentSession()).toBeNull();
    expect(sessionStorage.getItem("sdp.token")).toBeNull();
  });
});
