"""parallel.Beside: work in a forked process, its result or its error back in the parent."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from mlsizes.parallel import Beside, WorkerDied, can_fork


class Unrebuildable(Exception):
    def __init__(self, a, b):  # pickles, but cannot be rebuilt from its args
        super().__init__(f"{a}/{b}")


def test_the_function_runs_in_another_process_on_the_parents_memory():
    big = np.arange(1_000_000)
    pending = Beside(lambda: (os.getpid(), int(big.sum())))
    pid, total = pending.result()
    assert pid != os.getpid() and total == 499999500000


def test_its_error_is_raised_in_the_parent():
    with pytest.raises(KeyError, match="missing"):
        Beside(lambda: {}["missing"]).result()
    with pytest.raises(RuntimeError, match="Unrebuildable: 1/2"):
        Beside(lambda: (_ for _ in ()).throw(Unrebuildable(1, 2))).result()


def test_a_worker_that_dies_is_reported():
    with pytest.raises(WorkerDied, match="without a result"):
        Beside(lambda: os._exit(3)).result()


def test_with_other_threads_running_the_work_stays_in_this_process():
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not can_fork()
        assert Beside(os.getpid).result() == os.getpid()
    finally:
        release.set()
        thread.join()


def test_a_child_whose_result_is_not_wanted_is_reaped():
    unwanted = Beside(lambda: b"x" * (1 << 20))  # more than a pipe holds: the child blocks until read or closed
    unwanted.reap()
    unwanted.reap()  # once is enough
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child is left behind
