import { describe, expect, it } from "vitest";

import { currentNotice, currentSession, login, logout, SESSION_EXPIRED } from "../auth/session";
import { fakeToken } from "../test/tokens";
import { observe } from "./client";
import { serviceHealth } from "./health";

describe("observe", () => {
  it("ends the session on a 401 for its own token", () => {
    const session = login(fakeToken("admin"));
    observe("api", 401, session.token);
    expect(currentSession()).toBeNull();
    expect(currentNotice()).toBe(SESSION_EXPIRED);
  });

  it("keeps a session a 401 for another token says nothing of", () => {
    const old = login(fakeToken("viewer", 3_600, "old"));
    login(fakeToken("admin", 3_600, "new"));
    observe("api", 401, old.token);
    expect(currentSession()?.subject).toBe("new");
  });

  it("keeps the logout's message when a call sent before it comes back 401", () => {
    login(fakeToken("admin"));
    logout("You logged out.");
    observe("monitor", 401, null);
    expect(currentNotice()).toBe("You logged out.");
  });

  it("marks a service down on no answer or a 502/503 and up on any other", () => {
    observe("monitor", 0);
    expect(serviceHealth().monitor).toBe(true);
    observe("monitor", 404);
    expect(serviceHealth().monitor).toBe(false);
    observe("api", 503);
    expect(serviceHealth().api).toBe(true);
    observe("api", 200);
    expect(serviceHealth().api).toBe(false);
  });
});
