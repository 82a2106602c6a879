import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/errors";
import { ScheduleForm } from "./ScheduleForm";
import type { ScheduleSpec } from "./scheduleDocument";
import { JOBS } from "./testJobs";

function setup(onSubmit = vi.fn<(spec: ScheduleSpec) => Promise<unknown>>().mockResolvedValue({})) {
  render(<ScheduleForm jobs={JOBS} onSubmit={onSubmit} onCancel={() => {}} />);
  return { onSubmit, user: userEvent.setup({ delay: null }) };
}

const create = () => screen.getByRole("button", { name: "Create schedule" });

// Typing a whole form keystroke by keystroke in jsdom takes seconds on a busy machine.
describe("ScheduleForm", { timeout: 20_000 }, () => {
  it("sends an interval schedule with the task's arguments", async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText("Name"), "nap");
    await user.selectOptions(screen.getByLabelText("Task"), "system.sleep");
    await user.type(screen.getByLabelText("Seconds (required)"), "1.5");
    await user.clear(screen.getByLabelText("Every"));
    await user.type(screen.getByLabelText("Every"), "2");
    await user.selectOptions(screen.getByLabelText("Unit"), "minutes");
    await user.click(create());
    expect(onSubmit).toHaveBeenCalledWith({
      name: "nap",
      task: "system.sleep",
      args: [],
      kwargs: { seconds: 1.5 },
      trigger: { type: "interval", every: 2, unit: "minutes" },
      enabled: true,
      queue: null,
      priority: null,
      start_at: null,
      end_at: null,
      expires_s: null,
      misfire: { policy: "run_once", grace_s: 60 },
      max_instances: 1,
      jitter_s: 0,
    });
  });

  it("sends a crontab trigger's five fields and its zone, and the advanced fields", async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText("Name"), "nightly");
    await user.click(screen.getByRole("radio", { name: "Crontab" }));
    await user.clear(screen.getByLabelText("Minute"));
    await user.type(screen.getByLabelText("Minute"), "30");
    await user.clear(screen.getByLabelText("Hour"));
    await user.type(screen.getByLabelText("Hour"), "2");
    await user.clear(screen.getByLabelText("Day of week"));
    await user.type(screen.getByLabelText("Day of week"), "1-5");
    await user.clear(screen.getByLabelText("Time zone"));
    await user.type(screen.getByLabelText("Time zone"), "Europe/Berlin");
    await user.click(screen.getByText("More"));
    await user.selectOptions(screen.getByLabelText("Queue"), "etl");
    await user.type(screen.getByLabelText("Priority"), "5");
    await user.selectOptions(screen.getByLabelText("Misfire policy"), "skip");
    await user.type(screen.getByLabelText("Expires (s)"), "300");
    await user.type(screen.getByLabelText("Start at (UTC)"), "2027-01-01T00:00");
    await user.click(create());
    const spec = onSubmit.mock.calls[0]?.[0];
    expect(spec?.trigger).toEqual({
      type: "crontab",
      minute: "30",
      hour: "2",
      day_of_month: "*",
      month_of_year: "*",
      day_of_week: "1-5",
      timezone: "Europe/Berlin",
    });
    expect(spec).toMatchObject({
      task: "system.noop",
      kwargs: {},
      queue: "etl",
      priority: 5,
      expires_s: 300,
      start_at: "2027-01-01T00:00:00+00:00",
      misfire: { policy: "skip", grace_s: 60 },
    });
  });

  it("sends a once trigger at the wall-clock time of its zone, with the zone's offset", async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText("Name"), "xmas");
    await user.click(screen.getByRole("radio", { name: "Once" }));
    await user.type(screen.getByLabelText("At"), "2026-12-24T18:00");
    await user.clear(screen.getByLabelText("Time zone"));
    await user.type(screen.getByLabelText("Time zone"), "Europe/Berlin");
    await user.click(create());
    expect(onSubmit.mock.calls[0]?.[0].trigger).toEqual({
      type: "once",
      at: "2026-12-24T18:00:00+01:00",
    });
  });

  it("shows each 422 field message at the field it names, and the rest in the summary", async () => {
    const onSubmit = vi.fn<(spec: ScheduleSpec) => Promise<unknown>>().mockRejectedValue(
      new ApiError(422, "validation_error", "invalid", [
        { field: "trigger.minute", message: "61 is not a minute (0-59)" },
        { field: "kwargs.seconds", message: "must be at most 3600" },
        { field: "args", message: "too many" },
      ]),
    );
    const { user } = setup(onSubmit);
    await user.type(screen.getByLabelText("Name"), "bad");
    await user.selectOptions(screen.getByLabelText("Task"), "system.sleep");
    await user.type(screen.getByLabelText("Seconds (required)"), "9999");
    await user.click(screen.getByRole("radio", { name: "Crontab" }));
    await user.clear(screen.getByLabelText("Minute"));
    await user.type(screen.getByLabelText("Minute"), "61");
    await user.click(create());
    await screen.findByText("61 is not a minute (0-59)");
    const minute = screen.getByLabelText("Minute");
    expect(minute).toHaveAttribute("aria-invalid", "true");
    expect(minute).toHaveAccessibleDescription(/61 is not a minute \(0-59\)/);
    expect(screen.getByLabelText("Seconds (required)")).toHaveAccessibleDescription(
      /must be at most 3600/,
    );
    expect(screen.getByLabelText("Hour")).not.toHaveAttribute("aria-invalid");
    const summary = screen.getAllByRole("alert")[0];
    expect(summary).toHaveTextContent("The schedule was not saved");
    expect(summary).toHaveTextContent("args: too many");
    expect(summary).not.toHaveTextContent("61 is not a minute");
  });

  it("places the API's trigger.crontab.minute at the minute field too", async () => {
    const onSubmit = vi
      .fn<(spec: ScheduleSpec) => Promise<unknown>>()
      .mockRejectedValue(
        new ApiError(422, "validation_error", "invalid", [
          { field: "trigger.crontab.minute", message: "out of range" },
        ]),
      );
    const { user } = setup(onSubmit);
    await user.type(screen.getByLabelText("Name"), "bad");
    await user.click(screen.getByRole("radio", { name: "Crontab" }));
    await user.click(create());
    await screen.findByText("out of range");
    expect(screen.getByLabelText("Minute")).toHaveAccessibleDescription(/out of range/);
  });

  it("shows a 409 name in use at the name field", async () => {
    const onSubmit = vi
      .fn<(spec: ScheduleSpec) => Promise<unknown>>()
      .mockRejectedValue(
        new ApiError(409, "conflict", "a schedule named 'dup' already exists", [
          { field: "name", message: "already used by another schedule" },
        ]),
      );
    const { user } = setup(onSubmit);
    await user.type(screen.getByLabelText("Name"), "dup");
    await user.click(create());
    await screen.findByText("already used by another schedule");
    expect(screen.getByLabelText("Name")).toHaveAccessibleDescription(
      /already used by another schedule/,
    );
  });

  it("checks its own fields before sending, opening More for a message there", async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText("Name"), "x");
    await user.selectOptions(screen.getByLabelText("Task"), "system.sleep");
    await user.click(screen.getByText("More"));
    await user.type(screen.getByLabelText("Priority"), "high");
    await user.click(screen.getByText("More"));
    await user.click(create());
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByLabelText("Seconds (required)")).toHaveAccessibleDescription(/Required/);
    expect(screen.getByLabelText("Priority")).toBeVisible();
    expect(screen.getByLabelText("Priority")).toHaveAccessibleDescription(/whole number/);
  });
});
