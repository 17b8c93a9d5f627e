"""Handing freed memory back to the system after a one-off burst of work.

glibc keeps the pages a thread freed in that thread's arena, ready for reuse; after a burst
that will not come again (reading the classifiers, filling a million weekly slots) they
would stay in the process's resident memory for its whole life.
"""

from __future__ import annotations

import contextlib
import ctypes


def give_back() -> None:
    """Return every arena's free pages to the system (nothing to do outside glibc)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
