"""One writer per folder: an exclusive lock that names its holder and dies with it.

A run directory (one trainer writes it), a sweep's results folder (one sweep fills it) and a
sweep's per-run folder (one executor runs it) each take this lock. It is an flock on the folder's
``.lock`` file, which the operating system drops when the holding process dies, so a killed run,
kernel or worker never blocks anyone for longer than it takes to exit. A leaf: it imports no
model code, so anything that writes a folder may use it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO

from gencore.engine.errors import RunLockedError

# Seconds a lock request waits for a holder to let go, when the caller does not say. 0 refuses at
# once (a second trainer in a notebook is a mistake to report, not to wait for). A sweep sets it
# for the kernels it starts: a retried run may begin while the kernel of the worker that died is
# still noticing its parent is gone (about a second), and must wait for it rather than fail.
WAIT_VARIABLE = "GENCORE_LOCK_WAIT"


def default_wait() -> float:
    """The waiting time the environment asks for (``GENCORE_LOCK_WAIT`` seconds), else 0."""
    try:
        return max(0.0, float(os.environ.get(WAIT_VARIABLE, "0")))
    except ValueError:
        return 0.0


def _identity() -> str:
    """How a holder is named in the lock file and in messages."""
    return f"pid={os.getpid()} host={socket.gethostname()}"


class FolderLock:
    """``acquire()`` takes the folder, ``release()`` gives it back. ``what`` and ``advice`` make
    the one-line message that a second writer gets, after the holder's process id and host."""

    NAME = ".lock"

    def __init__(self, folder: Path, what: str = "written", advice: str = "wait for that run to finish or stop it, "
                 "or choose another --out.") -> None:
        self.path = Path(folder) / self.NAME
        self.what, self.advice = what, advice
        self.handle: IO[str] | None = None

    def acquire(self, wait: float | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds (default: ``default_wait()``) for a holder to exit."""
        if self.handle is not None:
            return
        deadline = time.monotonic() + (default_wait() if wait is None else wait)
        while True:
            handle = open(self.path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                if time.monotonic() >= deadline:
                    mine = holder.split(" ")[0] == f"pid={os.getpid()}"
                    raise RunLockedError(f"{self.path.parent} is being {self.what} by {holder}"
                                         f"{' (another trainer in this process)' if mine else ''}: {self.advice}") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(_identity() + "\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None

    def holder(self) -> str | None:
        """Who holds the folder now ('pid=... host=...'), or None when nobody does (never blocks)."""
        if self.handle is not None:
            return _identity()
        try:
            handle = open(self.path)
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "another process"
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
