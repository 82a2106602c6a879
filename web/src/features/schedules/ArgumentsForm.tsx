import type { ApiError } from "../../api/errors";
import { Field } from "../../ui/Field";
import { type ArgumentField, type ArgumentValues, WHOLE } from "./argumentsSchema";

interface ArgumentsFormProps {
  /** From argumentFields: null edits the arguments as one JSON object. */
  fields: ArgumentField[] | null;
  values: ArgumentValues;
  onChange: (values: ArgumentValues) => void;
  error?: ApiError | null;
  /** The form's own messages by field name (`kwargs.<name>`). */
  problems?: Record<string, string>;
}

function hintOf(field: ArgumentField): string | undefined {
  const parts = [field.description];
  if (field.kind === "array") parts.push("One item per line.");
  if (field.kind === "json") parts.push("JSON.");
  if (field.default !== undefined && field.default !== null && field.kind !== "boolean") {
    parts.push(`Default: ${JSON.stringify(field.default)}.`);
  }
  return parts.filter(Boolean).join(" ") || undefined;
}

interface ControlProps {
  field: ArgumentField;
  value: string | boolean | undefined;
  onChange: (value: string | boolean) => void;
  /** The id, name and aria attributes Field gives its control. */
  [attribute: string]: unknown;
}

function Control({ field, value, onChange, ...attributes }: ControlProps) {
  const text = typeof value === "string" ? value : "";
  switch (field.kind) {
    case "boolean":
      return (
        <input
          {...attributes}
          type="checkbox"
          checked={value === true}
          onChange={(event) => onChange(event.target.checked)}
        />
      );
    case "enum":
      return (
        <select
          {...attributes}
          value={text}
          required={field.required}
          onChange={(event) => onChange(event.target.value)}
        >
          {!field.required && <option value="">(default)</option>}
          {field.options?.map((option) => (
            <option key={String(option)} value={String(option)}>
              {String(option)}
            </option>
          ))}
        </select>
      );
    case "number":
    case "integer":
      return (
        <input
          {...attributes}
          type="text"
          inputMode={field.kind === "integer" ? "numeric" : "decimal"}
          value={text}
          required={field.required}
          onChange={(event) => onChange(event.target.value)}
        />
      );
    case "array":
    case "json":
      return (
        <textarea
          {...attributes}
          className="json-input"
          rows={field.kind === "json" ? 4 : 3}
          value={text}
          required={field.required}
          onChange={(event) => onChange(event.target.value)}
        />
      );
    default:
      return (
        <input
          {...attributes}
          type="text"
          value={text}
          required={field.required}
          onChange={(event) => onChange(event.target.value)}
        />
      );
  }
}

/** The task's keyword arguments, one labelled control per property of its schema. */
export function ArgumentsForm({
  fields,
  values,
  onChange,
  error,
  problems = {},
}: ArgumentsFormProps) {
  if (fields === null) {
    return (
      <fieldset>
        <legend>Arguments</legend>
        <Field
          label="Arguments (JSON object)"
          name="kwargs"
          error={error}
          message={problems.kwargs}
        >
          <textarea
            className="json-input"
            rows={8}
            value={String(values[WHOLE] ?? "")}
            onChange={(event) => onChange({ ...values, [WHOLE]: event.target.value })}
          />
        </Field>
      </fieldset>
    );
  }
  return (
    <fieldset>
      <legend>Arguments</legend>
      {fields.length === 0 && <p className="muted">This task takes no arguments.</p>}
      {fields.map((field) => (
        <Field
          key={field.name}
          label={field.required ? `${field.label} (required)` : field.label}
          name={`kwargs.${field.name}`}
          error={error}
          message={problems[`kwargs.${field.name}`]}
          hint={hintOf(field)}
        >
          <Control
            field={field}
            value={values[field.name]}
            onChange={(value) => onChange({ ...values, [field.name]: value })}
          />
        </Field>
      ))}
    </fieldset>
  );
}
