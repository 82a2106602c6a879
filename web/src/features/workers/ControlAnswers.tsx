import { formatCount } from "../../ui/format";
import { type ControlOutcome, inWords } from "./api";

/** Each worker's answer to the last control call. */
export function ControlAnswers({ outcome }: { outcome: ControlOutcome }) {
  const { control, results } = outcome;
  const done = results.filter((result) => result.ok).length;
  const resized = results.some((r) => r.processes_before != null || r.processes_after != null);
  const what = inWords(control);
  return (
    <section className="panel" aria-labelledby="control-answers">
      <h2 id="control-answers">Answers</h2>
      <p role="status">
        {done} of {results.length} {results.length === 1 ? "worker" : "workers"} did it: {what}.
      </p>
      <div className="table-wrap">
        <table aria-label={`Each worker's answer to: ${what}`}>
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Result</th>
              <th scope="col">Message</th>
              {resized && (
                <>
                  <th scope="col" className="num">
                    Processes before
                  </th>
                  <th scope="col" className="num">
                    Processes after
                  </th>
                </>
              )}
            </tr>
          </thead>
          <tbody>
            {results.map((result) => (
              <tr key={result.worker}>
                <th scope="row">
                  <code>{result.worker}</code>
                </th>
                <td>
                  <span className={result.ok ? "badge badge-ok" : "badge badge-bad"}>
                    {result.ok ? "ok" : "failed"}
                  </span>
                </td>
                <td>{result.message}</td>
                {resized && (
                  <>
                    <td className="num">{formatCount(result.processes_before)}</td>
                    <td className="num">{formatCount(result.processes_after)}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
