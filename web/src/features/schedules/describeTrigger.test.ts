import { describe, expect, it } from "vitest";

import { describeTrigger, type Trigger } from "./describeTrigger";

function crontab(fields: Partial<Extract<Trigger, { type: "crontab" }>>): Trigger {
  return {
    type: "crontab",
    minute: "*",
    hour: "*",
    day_of_month: "*",
    month_of_year: "*",
    day_of_week: "*",
    timezone: "UTC",
    ...fields,
  };
}

describe("describeTrigger", () => {
  it.each([
    [30, "seconds", "every 30 s"],
    [2, "minutes", "every 2 min"],
    [6, "hours", "every 6 h"],
    [3, "days", "every 3 d"],
    [1, "minutes", "every minute"],
    [1, "days", "every day"],
    [3600, "seconds", "every hour"],
    [120, "seconds", "every 2 min"],
    [90, "seconds", "every 90 s"],
    [48, "hours", "every 2 d"],
  ] as const)("interval every %s %s", (every, unit, words) => {
    expect(describeTrigger({ type: "interval", every, unit })).toBe(words);
  });

  it.each([
    [
      { minute: "30", hour: "2", day_of_week: "1-5", timezone: "Europe/Berlin" },
      "02:30 on weekdays, Europe/Berlin",
    ],
    [{ minute: "30", hour: "2", day_of_week: "mon-fri" }, "02:30 on weekdays, UTC"],
    [{ minute: "0", hour: "9", day_of_week: "sat,sun" }, "09:00 on weekends, UTC"],
    [{ minute: "0", hour: "9", day_of_week: "0,6" }, "09:00 on weekends, UTC"],
    [{ minute: "0", hour: "9", day_of_week: "1,3" }, "09:00 on Mon, Wed, UTC"],
    [{ minute: "15", hour: "6" }, "06:15 every day, UTC"],
    [{ minute: "0", hour: "8,20" }, "08:00, 20:00 every day, UTC"],
    [{}, "every minute, UTC"],
    [{ minute: "*/5" }, "every 5 min, UTC"],
    [{ minute: "5" }, "at :05 every hour, UTC"],
    [{ minute: "0", hour: "*/2", timezone: "Europe/Berlin" }, "at :00 every 2 h, Europe/Berlin"],
    [{ minute: "0", hour: "0", day_of_month: "1" }, "00:00 on day 1 of the month, UTC"],
    [
      { minute: "0", hour: "0", day_of_month: "1,15", day_of_week: "5" },
      "00:00 on day 1, 15 of the month or on Fri, UTC",
    ],
    [
      { minute: "0", hour: "12", day_of_month: "24", month_of_year: "12" },
      "12:00 on day 24 of the month in Dec, UTC",
    ],
    [{ minute: "0", hour: "12", month_of_year: "1-3" }, "12:00 in Jan–Mar, UTC"],
    [{ minute: "0", hour: "12", day_of_week: "5-7" }, "12:00 on Fri–Sun, UTC"],
    [{ minute: "1-10/2", hour: "3-4" }, "at minute 1-10/2 in hour 3-4, UTC"],
  ])("crontab %j", (fields, words) => {
    expect(describeTrigger(crontab(fields))).toBe(words);
  });

  it("once, in UTC whatever the offset given", () => {
    expect(describeTrigger({ type: "once", at: "2026-12-24T19:00:00+01:00" })).toBe(
      "at 2026-12-24 18:00 UTC once",
    );
    expect(describeTrigger({ type: "once", at: "2026-12-24T18:00:05Z" })).toBe(
      "at 2026-12-24 18:00:05 UTC once",
    );
  });
});
