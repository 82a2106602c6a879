/** The services' error envelope `{"error": {"code", "message", "fields"}}` as one error type. */

export interface FieldMessage {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldMessage[];

  constructor(status: number, code: string, message: string, fields: FieldMessage[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** The message the API gave for one field (e.g. `trigger.minute`), if any. */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((entry) => entry.field === field)?.message;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** An ApiError from a response's status and its parsed body, whatever shape the body has. */
export function toApiError(status: number, body: unknown, statusText = ""): ApiError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  if (!error) {
    return new ApiError(status, "http_error", statusText || `The service answered ${status}`);
  }
  const fields = Array.isArray(error.fields)
    ? error.fields.filter(isRecord).map((entry) => ({
        field: String(entry.field ?? ""),
        message: String(entry.message ?? ""),
      }))
    : [];
  return new ApiError(
    status,
    typeof error.code === "string" ? error.code : "http_error",
    typeof error.message === "string" ? error.message : `The service answered ${status}`,
    fields,
  );
}

/** No answer at all: the service or the proxy in front of it is unreachable. */
export function networkError(cause: unknown): ApiError {
  const error = new ApiError(0, "network", "The service cannot be reached");
  error.cause = cause;
  return error;
}

/** What to show a person for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
