import { describe, expect, it } from "vitest";

import { type SseMessage, SseParser } from "./sse";

function parseAll(chunks: readonly string[]): SseMessage[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

const STREAM =
  ": keepalive\n\n" +
  'event: worker\ndata: {"name":"w1"}\n\n' +
  "event: task\r\ndata: line one\r\ndata: line two\r\n\r\n" +
  "data:no space\rid: 7\rretry: 10\r\r" +
  "event: task\n: a comment inside\ndata:  two spaces\n\n" +
  "event: lonely\n\n" +
  "data\n\n";

const EXPECTED: SseMessage[] = [
  { event: "worker", data: '{"name":"w1"}' },
  { event: "task", data: "line one\nline two" },
  { event: "message", data: "no space" },
  { event: "task", data: " two spaces" },
  { event: "message", data: "" },
];

describe("SseParser", () => {
  it("reads events, multi-line data, comments, LF, CRLF and CR", () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it("gives the same messages however the stream is split", () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)]), `cut at ${cut}`).toEqual(
        EXPECTED,
      );
    }
    expect(parseAll([...STREAM])).toEqual(EXPECTED);
  });

  it("sends a message as soon as its blank line arrives, and nothing before", () => {
    const parser = new SseParser();
    expect(parser.push("event: task\ndata: a")).toEqual([]);
    expect(parser.push("\n")).toEqual([]);
    expect(parser.push("\r")).toEqual([{ event: "task", data: "a" }]);
    // The LF of that CRLF is not another blank line.
    expect(parser.push("\ndata: b\n")).toEqual([]);
    expect(parser.push("")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "message", data: "b" }]);
  });
});
