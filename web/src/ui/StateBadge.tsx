/** A task or run state as a coloured label; the text carries the meaning, not the colour. */

const TONES: Record<string, string> = {
  SUCCESS: "ok",
  FAILURE: "bad",
  REJECTED: "bad",
  REVOKED: "warn",
  MISSED: "warn",
  SKIPPED: "muted",
  RETRY: "warn",
  STARTED: "busy",
  RECEIVED: "info",
  PENDING: "muted",
  // Audit results.
  OK: "ok",
  PARTIAL: "warn",
  FAILED: "bad",
};

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge badge-${TONES[state.toUpperCase()] ?? "muted"}`}>
      {state.toUpperCase()}
    </span>
  );
}
