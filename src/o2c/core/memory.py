"""Process-level memory behaviour for bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a bulk job builds millions of small acyclic objects
    (rows, tuples): each full collection walks every live object, so a million-row import spends
    about a tenth of its time in collections that free nothing. Reference counting still frees
    everything that is not part of a cycle; the collector runs again on exit."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
