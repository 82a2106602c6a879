import { describe, expect, it } from "vitest";

import { fromLocalInput, toLocalInput } from "./datetime";

describe("datetime-local values", () => {
  it("round-trips an instant through the local wall time", () => {
    const iso = "2026-12-03T14:05:09.000Z";
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
  });

  it("reads nothing from an empty or bad value", () => {
    expect(toLocalInput(undefined)).toBe("");
    expect(toLocalInput("yesterday")).toBe("");
    expect(fromLocalInput("")).toBeUndefined();
    expect(fromLocalInput("not a date")).toBeUndefined();
  });
});
