"""A job process dies with the runner: the parent's pid travels in ``PARENT_PID_ENV``.

Every process the runner starts (a spawned worker, a fork server, a fork server's child) calls
``die_with_parent`` first: on Linux the kernel then SIGKILLs it when its parent exits
(``PR_SET_PDEATHSIG``), so a sweep killed with SIGKILL leaves no orphan measurement running.
The executors set the variable; the worker and the fork server read it. Nothing else lives here,
so neither side imports the other for it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: Environment variable carrying the parent's pid to a worker or fork server.
PARENT_PID_ENV = "ARCHSCALE_RUNNER_PARENT"

_PR_SET_PDEATHSIG = 1


def die_with_parent(expected: str | None = None) -> None:
    """Linux only: SIGKILL this process when its parent exits (best effort).

    Args:
        expected: The parent's pid (default: ``$ARCHSCALE_RUNNER_PARENT``); if the parent is
            already someone else, it died before the request took effect: exit at once.
    """
    expected = expected or os.environ.get(PARENT_PID_ENV)
    if not sys.platform.startswith("linux") or not expected:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != expected:
        os._exit(137)
