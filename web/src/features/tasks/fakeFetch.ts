/**
 * A fake of the services for this page's tests. The generated clients keep the `fetch` they
 * were created with, so a test file imports this module first, before anything imports them.
 */

export type Handler = (request: Request, url: URL) => unknown;

export interface Call {
  method: string;
  url: URL;
  body: unknown;
}

let handlers: Record<string, Handler> = {};
/** Every request the page made since the last `serve`, in order. */
export const calls: Call[] = [];

/** A JSON answer with a status, for handlers that answer other than 200. */
export class Answer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export function apiError(status: number, message: string): Answer {
  return new Answer(status, { error: { code: "error", message, fields: [] } });
}

/** Answer `"GET /path"` and `"POST /path"` with their handler's value (or Answer). */
export function serve(next: Record<string, Handler>): void {
  handlers = next;
  calls.length = 0;
}

function pathOf(pathname: string): string {
  return decodeURIComponent(pathname);
}

globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const request = input instanceof Request ? input : new Request(input, init);
  const url = new URL(request.url);
  const text = await request.clone().text();
  calls.push({ method: request.method, url, body: text ? (JSON.parse(text) as unknown) : null });
  const handler = handlers[`${request.method} ${pathOf(url.pathname)}`];
  const value = handler ? handler(request, url) : apiError(404, `no fake for ${url.pathname}`);
  const answer = value instanceof Answer ? value : new Answer(200, value);
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: { "Content-Type": "application/json" },
  });
};
