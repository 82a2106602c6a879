/**
 * Server-Sent Events read with fetch, so the request carries the Authorization header
 * (EventSource cannot, and a token never goes into a URL).
 */

export interface SseMessage {
  event: string;
  data: string;
}

const LF = 10;
const CR = 13;

/** Splits a text stream into SSE messages; chunks may end anywhere, even inside a line. */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  // The last chunk ended in CR: an LF starting the next one is the rest of that CRLF.
  private skipLf = false;

  push(chunk: string): SseMessage[] {
    if (chunk === "") return [];
    const messages: SseMessage[] = [];
    let start = this.skipLf && chunk.charCodeAt(0) === LF ? 1 : 0;
    this.skipLf = false;
    for (let at = start; at < chunk.length; at++) {
      const char = chunk.charCodeAt(at);
      if (char !== LF && char !== CR) continue;
      const message = this.line(this.buffer + chunk.slice(start, at));
      this.buffer = "";
      if (message) messages.push(message);
      if (char === CR) {
        if (at + 1 === chunk.length) this.skipLf = true;
        else if (chunk.charCodeAt(at + 1) === LF) at++;
      }
      start = at + 1;
    }
    this.buffer += chunk.slice(start);
    return messages;
  }

  private line(line: string): SseMessage | null {
    if (line === "") {
      const message = this.data.length
        ? { event: this.event || "message", data: this.data.join("\n") }
        : null;
      this.event = "";
      this.data = [];
      return message;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return null;
  }
}

export class StreamHttpError extends Error {
  constructor(readonly status: number) {
    super(`The event stream answered ${status}`);
    this.name = "StreamHttpError";
  }
}

/**
 * Read one connection until it ends: `onOpen` once the response is 200, then `onMessages`
 * per chunk. Rejects with StreamHttpError on another status, or with the network's error.
 */
export async function readEventStream(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  onOpen: () => void,
  onMessages: (messages: SseMessage[]) => void,
): Promise<void> {
  const response = await fetch(url, {
    headers: { ...headers, Accept: "text/event-stream" },
    signal,
    cache: "no-store",
  });
  if (!response.ok || !response.body) throw new StreamHttpError(response.status);
  onOpen();
  const parser = new SseParser();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const messages = parser.push(value);
      if (messages.length) onMessages(messages);
    }
  } finally {
    reader.releaseLock();
  }
}
