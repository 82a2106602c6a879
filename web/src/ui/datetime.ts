/** `<input type="datetime-local">` values (local wall time) to and from ISO instants. */

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** An ISO instant as the local "YYYY-MM-DDTHH:mm:ss" a datetime-local input shows; "" if none. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
    `T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

/** A datetime-local value (read as local time) as an ISO instant; undefined if empty or bad. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}
