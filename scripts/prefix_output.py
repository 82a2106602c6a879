"""supervisord event listener: print each program's output lines as `name | line`.

supervisord writes a program's output as it reads it, in chunks that can split a line, with
nothing to tell the programs apart; this listener gets each chunk as a PROCESS_LOG event and
prints whole lines with the program's name. Its stderr is `make run`'s output; its stdout
speaks the listener protocol. Argument: the width to pad names to.
"""

from __future__ import annotations

import sys

from supervisor.childutils import eventdata, listener

# A partial line longer than this is printed as it is rather than held for its end.
MAX_HELD = 64 * 1024


def main() -> int:
    width = int(sys.argv[1])
    # The envelope gives the payload's length in characters: read it untranslated, as UTF-8.
    sys.stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")  # type: ignore[union-attr]
    held: dict[str, str] = {}
    while True:
        _, payload = listener.wait(sys.stdin, sys.stdout)
        headers, data = eventdata(payload)
        name = headers["processname"]
        *lines, rest = (held.pop(name, "") + data).split("\n")
        if len(rest) > MAX_HELD:
            lines.append(rest)
        elif rest:
            held[name] = rest
        sys.stderr.write("".join(f"{name:<{width}} | {line}\n" for line in lines))
        sys.stderr.flush()
        listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
