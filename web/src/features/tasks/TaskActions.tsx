import { useNavigate } from "@tanstack/react-router";
import { useId, useState } from "react";

import { errorMessage } from "../../api/errors";
import { Can } from "../../auth/Can";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import {
  FINISHED_STATES,
  RETRYABLE_STATES,
  type TaskDetail,
  useCancelTask,
  useRetryTask,
} from "./queries";

/** Cancel (while it can still run) and retry (once it failed or was revoked), for operators. */
export function TaskActions({ task }: { task: TaskDetail }) {
  return (
    <Can role="operator">
      <Actions task={task} />
    </Can>
  );
}

function Actions({ task }: { task: TaskDetail }) {
  const navigate = useNavigate({ from: "/tasks" });
  const cancel = useCancelTask(task.id);
  const retry = useRetryTask(task.id);
  const [confirming, setConfirming] = useState(false);
  const [terminate, setTerminate] = useState(false);
  const terminateId = useId();

  const cancellable = !FINISHED_STATES.has(task.state);
  const retryable = RETRYABLE_STATES.has(task.state);
  const answer = cancel.data;

  function confirmCancel() {
    cancel.mutate(terminate, { onSettled: () => setConfirming(false) });
  }

  function sendAgain() {
    retry.mutate(undefined, {
      onSuccess: (accepted) =>
        void navigate({ search: (prev) => ({ ...prev, task: accepted.id }) }),
    });
  }

  if (!cancellable && !retryable && !answer && !cancel.error) return null;
  return (
    <div className="task-actions">
      <div className="form-row">
        {cancellable && (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Cancel task
          </button>
        )}
        {retryable && (
          <button type="button" onClick={sendAgain} disabled={retry.isPending}>
            {retry.isPending ? "Sending…" : "Retry"}
          </button>
        )}
      </div>
      {answer && (
        <p role="status" className="task-answer">
          Revoke sent: the task is {answer.state}
          {answer.terminated ? " (terminate requested)" : ""};{" "}
          {answer.workers.length > 0
            ? `acknowledged by ${answer.workers.join(", ")}.`
            : "no online worker acknowledged (each checks the revocation before it runs a task)."}
        </p>
      )}
      {cancel.error && (
        <p role="alert" className="field-error">
          Cancel failed: {errorMessage(cancel.error)}
        </p>
      )}
      {retry.error && (
        <p role="alert" className="field-error">
          Retry failed: {errorMessage(retry.error)}
        </p>
      )}
      <ConfirmDialog
        open={confirming}
        title="Cancel this task?"
        targets={[task.id]}
        confirmLabel="Revoke task"
        danger
        busy={cancel.isPending}
        onConfirm={confirmCancel}
        onCancel={() => setConfirming(false)}
      >
        <p>
          The task is revoked for good: a worker that takes it later drops it. A task that is
          already running finishes unless its process is terminated.
        </p>
        <p className="checkbox">
          <input
            id={terminateId}
            type="checkbox"
            checked={terminate}
            onChange={(event) => setTerminate(event.target.checked)}
          />
          <label htmlFor={terminateId}>Terminate the running process</label>
        </p>
      </ConfirmDialog>
    </div>
  );
}
