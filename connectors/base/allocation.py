"""``gc_paused()``: no cyclic garbage collection while a burst of long-lived objects is built.

Decoding a 1 MB page of records, or loading a stream's stored hashes, allocates
tens of thousands of containers that all stay alive. The collector, triggered
every few hundred allocations, would only walk them again and again (half the
time of such a burst). Collection resumes on the first allocation after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (no-op when it is already off)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


__all__ = ["gc_paused"]
