"""parallel.Beside: work in a forked process, its result or its error back in the parent.

Each test runs in a fresh interpreter (conftest.run_python): a test process may hold threads left by earlier
tests, and Beside rightly refuses to fork beside threads (the last test shows that refusal here).
"""

from __future__ import annotations

import os
import threading

from conftest import run_python
from mlsizes.tables.parallel import Beside, can_fork


def _ok(code: str) -> str:
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_function_runs_in_another_process_on_the_parents_memory():
    out = _ok(
        """
        import os
        import numpy as np
        from mlsizes.tables.parallel import Beside
        big = np.arange(1_000_000)
        pid, total = Beside(lambda: (os.getpid(), int(big.sum()))).result()
        print(pid != os.getpid(), total)
        """
    )
    assert out.split() == ["True", "499999500000"]


def test_its_error_is_raised_in_the_parent():
    out = _ok(
        """
        from mlsizes.tables.parallel import Beside

        class Unrebuildable(Exception):
            def __init__(self, a, b):  # pickles, but cannot be rebuilt from its args
                super().__init__(f"{a}/{b}")

        def unrebuildable():
            raise Unrebuildable(1, 2)

        for work in (lambda: {}["missing"], unrebuildable):
            try:
                Beside(work).result()
            except Exception as exc:
                print(type(exc).__name__, exc)
        """
    )
    assert out.splitlines() == ["KeyError 'missing'", "RuntimeError Unrebuildable: 1/2"]


def test_a_worker_that_dies_is_reported():
    out = _ok(
        """
        import os
        from mlsizes.tables.parallel import Beside, WorkerDied
        try:
            Beside(lambda: os._exit(3)).result()
        except WorkerDied as exc:
            print(exc)
        """
    )
    assert "ended without a result" in out


def test_a_child_whose_result_is_not_wanted_is_reaped():
    out = _ok(
        """
        import os
        from mlsizes.tables.parallel import Beside
        unwanted = Beside(lambda: b"x" * (1 << 20))  # more than a pipe holds: the child blocks until read or closed
        unwanted.reap()
        unwanted.reap()  # once is enough
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print("no child left")
        """
    )
    assert out.strip() == "no child left"


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
