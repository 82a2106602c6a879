"""Run a command as the leader of a new session: `new_session.py COMMAND...`.

supervisord makes every program a process-group leader, and a group leader cannot call
setsid(). So this process, the one supervisord watches, forks; the child starts the session
and execs the command. Stop signals are passed on, this process ends as the command did, and
if it is killed the command gets SIGTERM. The monitor runs this way: leading its session, it
lowers the whole session's CPU share (its autogroup), not only its own niceness.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

FORWARDED = {
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
}
PR_SET_PDEATHSIG = 1


def main() -> int:
    command = sys.argv[1:]
    parent = os.getpid()
    # Held until the handlers are in place, so a stop signal at startup is passed on too.
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    child = os.fork()
    if child == 0:
        os.setsid()
        if sys.platform == "linux":
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # killed before the line above took effect
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        os.execvp(command[0], command)  # noqa: S606 - the command as given, no shell
    for signum in FORWARDED:
        signal.signal(signum, lambda received, _frame: os.kill(child, received))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        killed_by = os.WTERMSIG(status)
        signal.signal(killed_by, signal.SIG_DFL)
        os.kill(os.getpid(), killed_by)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
