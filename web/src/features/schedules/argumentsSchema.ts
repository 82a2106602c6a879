/**
 * A job's arguments JSON Schema read as form fields, and the fields' text read back as kwargs.
 * What the form cannot draw as a plain control (objects, unions, nested arrays) is edited as
 * JSON in its own textarea; a schema that is not an object of properties is edited whole.
 */

type Schema = Record<string, unknown>;
type Primitive = "string" | "number" | "integer" | "boolean";

export type ArgumentKind = Primitive | "enum" | "array" | "json";

export interface ArgumentField {
  name: string;
  label: string;
  description?: string;
  kind: ArgumentKind;
  required: boolean;
  default?: unknown;
  /** An enum's values. */
  options?: unknown[];
  /** An array's item type. */
  items?: Primitive;
}

/** The text (or checkbox state) of each field, by property name. */
export type ArgumentValues = Record<string, string | boolean>;

/** The key a whole-JSON arguments textarea keeps its text under. */
export const WHOLE = "";

const PRIMITIVES: readonly string[] = ["string", "number", "integer", "boolean"];

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A `$ref` into the schema's own `$defs`, followed. */
function resolve(root: Schema, schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return schema;
  const defs = isSchema(root.$defs) ? root.$defs : {};
  const target = defs[ref.slice("#/$defs/".length)];
  return isSchema(target) ? { ...target, ...schema, $ref: undefined } : schema;
}

/** `anyOf: [X, {type: null}]`, as Optional fields come, read as X. */
function unwrapOptional(root: Schema, schema: Schema): Schema {
  const options = Array.isArray(schema.anyOf) ? schema.anyOf.filter(isSchema) : null;
  if (!options) return resolve(root, schema);
  const rest = options.filter((option) => option.type !== "null");
  if (rest.length !== 1 || !rest[0]) return schema;
  const { anyOf: _anyOf, ...outer } = schema;
  return { ...resolve(root, rest[0]), ...outer };
}

function kindOf(schema: Schema): Pick<ArgumentField, "kind" | "options" | "items"> {
  if (Array.isArray(schema.enum)) return { kind: "enum", options: schema.enum };
  const type = schema.type;
  if (typeof type === "string" && PRIMITIVES.includes(type)) return { kind: type as Primitive };
  if (type === "array" && isSchema(schema.items)) {
    const items = schema.items.type;
    if (typeof items === "string" && PRIMITIVES.includes(items) && !schema.items.enum) {
      return { kind: "array", items: items as Primitive };
    }
  }
  return { kind: "json" };
}

/** The schema's properties as fields, or null when the arguments are edited as one JSON text. */
export function argumentFields(schema: Schema): ArgumentField[] | null {
  if (schema.type !== "object" || !isSchema(schema.properties)) return null;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.entries(schema.properties).map(([name, raw]) => {
    const property = isSchema(raw) ? unwrapOptional(schema, raw) : {};
    return {
      name,
      label: typeof property.title === "string" ? property.title : name,
      description: typeof property.description === "string" ? property.description : undefined,
      required: required.includes(name),
      default: property.default,
      ...kindOf(property),
    };
  });
}

function asText(field: ArgumentField, value: unknown): string | boolean {
  if (field.kind === "boolean") return value === true;
  if (value === undefined || value === null) return "";
  if (field.kind === "array" && Array.isArray(value)) return value.map(String).join("\n");
  if (field.kind === "json") return JSON.stringify(value, null, 2);
  return String(value);
}

/** The fields' starting text: the stored kwargs when editing, else the schema's defaults. */
export function initialValues(
  fields: ArgumentField[] | null,
  kwargs?: Record<string, unknown>,
): ArgumentValues {
  if (fields === null) return { [WHOLE]: JSON.stringify(kwargs ?? {}, null, 2) };
  return Object.fromEntries(
    fields.map((field) => [field.name, asText(field, kwargs ? kwargs[field.name] : field.default)]),
  );
}

function primitive(type: Primitive, text: string): { value?: unknown; problem?: string } {
  if (type === "string") return { value: text };
  if (type === "boolean") {
    if (text === "true" || text === "false") return { value: text === "true" };
    return { problem: "Must be true or false" };
  }
  const number = Number(text);
  if (!Number.isFinite(number)) return { problem: "Must be a number" };
  if (type === "integer" && !Number.isInteger(number)) return { problem: "Must be a whole number" };
  return { value: number };
}

export interface BuiltKwargs {
  kwargs: Record<string, unknown>;
  /** The form's own messages, by field name (`kwargs.<name>`, or `kwargs` for the whole). */
  problems: Record<string, string>;
}

/** The kwargs the fields' text says; an empty optional field is left out so its default holds. */
export function buildKwargs(fields: ArgumentField[] | null, values: ArgumentValues): BuiltKwargs {
  const problems: Record<string, string> = {};
  if (fields === null) {
    const text = String(values[WHOLE] ?? "").trim() || "{}";
    try {
      const parsed: unknown = JSON.parse(text);
      if (isSchema(parsed)) return { kwargs: parsed, problems };
      problems.kwargs = "Must be a JSON object";
    } catch {
      problems.kwargs = "Not valid JSON";
    }
    return { kwargs: {}, problems };
  }
  const kwargs: Record<string, unknown> = {};
  for (const field of fields) {
    const key = `kwargs.${field.name}`;
    const raw = values[field.name];
    if (field.kind === "boolean") {
      kwargs[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (text.trim() === "") {
      if (field.required) problems[key] = "Required";
      continue;
    }
    if (field.kind === "enum") {
      kwargs[field.name] = field.options?.find((option) => String(option) === text) ?? text;
    } else if (field.kind === "array") {
      const items = text
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => primitive(field.items ?? "string", line));
      const bad = items.find((item) => item.problem);
      if (bad) problems[key] = `Each line: ${bad.problem?.toLowerCase()}`;
      else kwargs[field.name] = items.map((item) => item.value);
    } else if (field.kind === "json") {
      try {
        kwargs[field.name] = JSON.parse(text) as unknown;
      } catch {
        problems[key] = "Not valid JSON";
      }
    } else {
      const read = primitive(field.kind, field.kind === "string" ? text : text.trim());
      if (read.problem) problems[key] = read.problem;
      else kwargs[field.name] = read.value;
    }
  }
  return { kwargs, problems };
}
