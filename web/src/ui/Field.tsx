import { type ReactElement, cloneElement, useId } from "react";

import type { ApiError } from "../api/errors";

interface FieldProps {
  label: string;
  /** The API's name for the field, e.g. `trigger.minute`, to show its 422 message beside it. */
  name?: string;
  error?: ApiError | null;
  /** A message of the form's own, shown when the API has none for this field. */
  message?: string | null;
  hint?: string;
  /** One input, select or textarea; it gets the id, and the error's description. */
  children: ReactElement<Record<string, unknown>>;
}

/** A labelled control with the API's (or the form's) message for it beside it. */
export function Field({ label, name, error, message, hint, children }: FieldProps) {
  const id = useId();
  const problem = (name && error?.fieldMessage(name)) || message || null;
  const described = [hint ? `${id}-hint` : null, problem ? `${id}-error` : null]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={problem ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, {
        id,
        name: children.props.name ?? name,
        "aria-invalid": problem ? true : undefined,
        "aria-describedby": described || undefined,
      })}
      {hint && (
        <small id={`${id}-hint`} className="field-hint">
          {hint}
        </small>
      )}
      {problem && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {problem}
        </small>
      )}
    </div>
  );
}
