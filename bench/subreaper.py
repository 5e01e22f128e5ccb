#!/usr/bin/env python3
"""bench/subreaper.py CMD [ARG...]: runs CMD as a VM's init would treat its processes.

Orphaned descendants (a bot that restart.sh started in the background, once restart.sh exits) are adopted
by the nearest "child subreaper"; on a VM that is init, which reaps them as soon as they exit. On this
machine PID 1 reaps orphans only every second or two, so a killed bot stays a zombie that `kill -0` still
finds, and the sample app's restart.sh (which waits for the old bot to be gone) waited 1-2 s in every deploy,
whichever tool ran it. This makes CMD's process tree behave like a VM's: it becomes the subreaper, reaps
every adopted orphan at once, forwards SIGINT and SIGTERM to CMD, and exits with CMD's status.
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: subreaper.py CMD [ARG...]\n")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("subreaper: prctl(PR_SET_CHILD_SUBREAPER) failed: %s\n"
                         % os.strerror(ctypes.get_errno()))
        return 1
    child = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        try:
            pid, status = os.wait()  # any child: CMD or an adopted orphan
        except ChildProcessError:
            return 1
        if pid == child:
            return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
