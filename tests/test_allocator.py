"""allocator.keep_freed_memory: megabyte blocks freed and allocated again stop costing fresh pages."""

from __future__ import annotations

import platform

import pytest

from conftest import run_python

# In a fresh interpreter: the minor page faults of allocating four 1 MB numpy arrays and freeing them, a thousand
# times over (as a chunked scan's temporaries come and go), after keep_freed_memory() when argv[1] says so.
FAULTS = """
import resource, sys
import numpy as np
from mlsizes.tables import allocator
if sys.argv[1] == "kept":
    allocator.keep_freed_memory()
for _ in range(10):  # a warm-up: what any process pays once
    blocks = [np.ones(1 << 17) for _ in range(4)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(1000):
    blocks = [np.ones(1 << 17) for _ in range(4)]  # 1 MB each, the last four freed as these are made
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's settings are glibc's")
def test_freed_blocks_are_reused_instead_of_mapped_again():
    default, kept = (int(run_python(FAULTS, mode).stdout) for mode in ("default", "kept"))
    # By default each block is mapped afresh (256 pages a megabyte) or trimmed and faulted back; kept, the heap
    # serves them from pages it already has.
    assert default > 100_000 and kept < default / 20, (default, kept)
