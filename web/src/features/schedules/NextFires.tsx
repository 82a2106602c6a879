/** The next fires of the trigger being typed, from the API's preview, once typing pauses. */
import { useEffect, useState } from "react";

import { errorMessage } from "../../api/errors";
import type { ApiSchemas } from "../../api/types";

export type PreviewRequest = ApiSchemas["PreviewRequest"];
export type PreviewOut = ApiSchemas["PreviewOut"];
export type Preview = (timing: PreviewRequest) => Promise<PreviewOut>;

// Long enough that a preview is asked for when typing pauses, not at every keystroke.
export const PREVIEW_DELAY_MS = 300;

type Shown =
  | { state: "idle" }
  | { state: "done"; key: string; answer: PreviewOut }
  | { state: "failed"; key: string; message: string };

interface NextFiresProps {
  /** The trigger with its window; null while the form's own checks find it incomplete. */
  timing: PreviewRequest | null;
  preview: Preview;
}

export function NextFires({ timing, preview }: NextFiresProps) {
  const key = timing === null ? null : JSON.stringify(timing);
  const [shown, setShown] = useState<Shown>({ state: "idle" });

  useEffect(() => {
    if (key === null) return;
    let current = true;
    const timer = setTimeout(() => {
      void preview(JSON.parse(key) as PreviewRequest).then(
        (answer) => {
          if (current) setShown({ state: "done", key, answer });
        },
        (error: unknown) => {
          if (current) setShown({ state: "failed", key, message: errorMessage(error) });
        },
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key, preview]);

  const stale = shown.state === "idle" || shown.key !== key;
  return (
    <section className="next-fires" aria-label="Next fires" aria-busy={key !== null && stale}>
      <h3>Next fires</h3>
      {key === null && <p className="muted">Complete the trigger to see when it fires.</p>}
      {key !== null && shown.state === "failed" && (
        <p className="muted">Not a trigger the API takes: {shown.message}</p>
      )}
      {key !== null && shown.state === "done" && (
        <>
          <p>{shown.answer.description}</p>
          {shown.answer.fires.length === 0 ? (
            <p className="muted">It never fires after now.</p>
          ) : (
            <ol>
              {shown.answer.fires.map((at) => (
                <li key={at}>
                  <time dateTime={at}>{at}</time>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
