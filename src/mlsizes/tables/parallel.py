"""Work on the second core: a function run in a forked process while this one goes on.

Stages are single-threaded Python and pandas, whose work holds the GIL, so threads take turns; a forked
process runs truly beside its parent and sees the parent's memory as it was at the fork (a million-row table
is shared, not copied or pickled). Only the function's result travels back, pickled through a pipe, so the
function should return something small.

Without fork (Windows), or when other threads are running (a notebook's kernel: forking a process with
threads can copy a lock that a thread holds, and the child would wait on it forever), the function simply runs
in this process when its result is asked for, so results never depend on where the work ran.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


# Below these sizes a fork (tens of milliseconds for a large process) costs more than the work it moves.
MIN_ROWS = 100_000
MIN_BYTES = 32 << 20


class WorkerDied(RuntimeError):
    """A forked worker ended without sending its result (killed, or out of memory)."""


def can_fork() -> bool:
    """Whether work may go to a forked process: fork exists and no other thread is running."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Beside(Generic[T]):
    """`function()` started in a forked process; `result()` waits for it and returns it or raises its error.

    Call result() once, or reap() on the paths where the result is not wanted (a `finally`), so the child is
    always reaped. With `worth_it` false (the work is small: see MIN_ROWS) the function runs here when its
    result is asked for.
    """

    def __init__(self, function: Callable[[], T], worth_it: bool = True):
        self._function, self._pid = function, None
        if not worth_it or not can_fork():
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, send the outcome, and leave without running the parent's exit handlers
            os.close(read)
            code = 0
            try:
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(_outcome(function))
            except BaseException:
                code = 1
            os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> T:
        """The function's return value; its exception if it raised one."""
        if self._pid is None:
            return self._function()
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if not data:
            raise WorkerDied(f"a forked worker ended without a result (wait status {status})")
        returned, value = pickle.loads(data)
        if returned:
            return value
        raise value

    def reap(self) -> None:
        """Wait for a child whose result is no longer wanted (another part failed); nothing if it was taken."""
        if self._pid is not None:
            os.close(self._read)  # a child still writing its result gets a broken pipe and ends
            os.waitpid(self._pid, 0)
            self._pid = None


def _outcome(function: Callable[[], object]) -> bytes:
    """(True, result) or (False, exception), pickled; an exception that cannot make the trip becomes a RuntimeError
    with its text."""
    try:
        return pickle.dumps((True, function()), protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:  # every error belongs to the parent
        try:
            data = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(data)  # some exceptions pickle but cannot be rebuilt
            return data
        except Exception:
            return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
