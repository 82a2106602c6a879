import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { ApiError } from "../../api/errors";
import type { PreviewOut, PreviewRequest } from "./NextFires";
import { ScheduleForm } from "./ScheduleForm";
import { JOBS } from "./testJobs";

const BERLIN: PreviewOut = {
  description: "at 02:30 every day (Europe/Berlin)",
  fires: [
    "2026-10-24T02:30:00+02:00",
    "2026-10-25T02:30:00+02:00",
    "2026-10-26T02:30:00+01:00",
    "2026-10-27T02:30:00+01:00",
    "2026-10-28T02:30:00+01:00",
  ],
};

function setup(preview: (timing: PreviewRequest) => Promise<PreviewOut>) {
  render(<ScheduleForm jobs={JOBS} onSubmit={vi.fn()} onCancel={() => {}} preview={preview} />);
  return userEvent.setup({ delay: null });
}

const nextFires = () => screen.getByRole("region", { name: "Next fires" });

describe("ScheduleForm's next fires", { timeout: 20_000 }, () => {
  it("asks the preview for the trigger being typed and lists its next five fires", async () => {
    const preview = vi.fn<(timing: PreviewRequest) => Promise<PreviewOut>>();
    preview.mockResolvedValue(BERLIN);
    const user = setup(preview);
    await user.click(screen.getByRole("radio", { name: "Crontab" }));
    await user.clear(screen.getByLabelText("Minute"));
    await user.type(screen.getByLabelText("Minute"), "30");
    await user.clear(screen.getByLabelText("Hour"));
    await user.type(screen.getByLabelText("Hour"), "2");
    await user.clear(screen.getByLabelText("Time zone"));
    await user.type(screen.getByLabelText("Time zone"), "Europe/Berlin");
    await within(nextFires()).findByText("at 02:30 every day (Europe/Berlin)");
    expect(preview).toHaveBeenLastCalledWith({
      trigger: {
        type: "crontab",
        minute: "30",
        hour: "2",
        day_of_month: "*",
        month_of_year: "*",
        day_of_week: "*",
        timezone: "Europe/Berlin",
      },
      start_at: null,
      end_at: null,
      count: 5,
    });
    // Asked once typing paused, not once per keystroke.
    expect(preview.mock.calls.length).toBeLessThan(10);
    const fires = within(nextFires()).getAllByRole("listitem");
    expect(fires.map((item) => item.textContent)).toEqual(BERLIN.fires);
  });

  it("asks nothing while the form's own checks fault the trigger", async () => {
    const preview = vi.fn<(timing: PreviewRequest) => Promise<PreviewOut>>();
    preview.mockResolvedValue({ description: "every 30 seconds", fires: [] });
    const user = setup(preview);
    await within(nextFires()).findByText("every 30 seconds");
    preview.mockClear();
    await user.clear(screen.getByLabelText("Every"));
    await user.type(screen.getByLabelText("Every"), "often");
    expect(
      within(nextFires()).getByText("Complete the trigger to see when it fires."),
    ).toBeInTheDocument();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(preview).not.toHaveBeenCalled();
  });

  it("shows the API's refusal of a trigger and that one which never fires again has no fires", async () => {
    const preview = vi.fn<(timing: PreviewRequest) => Promise<PreviewOut>>();
    preview.mockRejectedValue(
      new ApiError(422, "validation_error", "trigger.crontab.minute: bad crontab field", [
        { field: "trigger.crontab.minute", message: "bad crontab field" },
      ]),
    );
    const user = setup(preview);
    await user.click(screen.getByRole("radio", { name: "Crontab" }));
    await user.clear(screen.getByLabelText("Minute"));
    await user.type(screen.getByLabelText("Minute"), "61");
    await within(nextFires()).findByText(/Not a trigger the API takes: .*bad crontab field/);
    preview.mockResolvedValue({ description: "once at 2020-01-01T00:00:00+00:00", fires: [] });
    await user.click(screen.getByRole("radio", { name: "Once" }));
    await user.type(screen.getByLabelText("At"), "2020-01-01T00:00");
    await within(nextFires()).findByText("It never fires after now.");
  });
});
