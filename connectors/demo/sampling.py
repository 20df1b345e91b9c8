"""Small seeded-sampling helpers: weighted picks, exact shares, ids, timestamps."""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SERIAL_PRIME = 78_364_164_083
"""The largest prime below 36**7: serials are a bijection of the device index modulo it."""


class Weighted(Generic[T]):
    """Picks items in proportion to their weights with one ``random()`` call."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        """One item, drawn with probability proportional to its weight."""
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


def stream_rng(seed: int, stream: str) -> random.Random:
    """A generator of its own for one stream, so streams do not shift each other's draws."""
    return random.Random(f"demo:{seed}:{stream}")


def allocate(total: int, shares: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``shares`` (largest remainder)."""
    weight = sum(shares)
    exact = [total * share / weight for share in shares]
    parts = [int(value) for value in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: parts[i] - exact[i])
    for index in by_remainder[: total - sum(parts)]:
        parts[index] += 1
    return parts


def shuffled_labels(rng: random.Random, labels: Sequence[T], counts: Sequence[int]) -> list[T]:
    """Exactly ``counts[i]`` copies of ``labels[i]``, in a seeded random order."""
    out = [label for label, count in zip(labels, counts, strict=True) for _ in range(count)]
    rng.shuffle(out)
    return out


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (deterministic for a seed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def serial_number(seed: int, index: int) -> str:
    """The unique serial number of device ``index`` for ``seed`` (``DX`` + 7 base-36 chars)."""
    multiplier, offset = _serial_key(seed)
    value = (index * multiplier + offset) % _SERIAL_PRIME
    chars = []
    for _ in range(7):
        value, digit = divmod(value, 36)
        chars.append(_BASE36[digit])
    return "DX" + "".join(reversed(chars))


@functools.cache
def _serial_key(seed: int) -> tuple[int, int]:
    """A seed's affine map modulo a prime: distinct indexes always get distinct serials."""
    digest = hashlib.sha256(f"demo-serials:{seed}".encode()).digest()
    multiplier = 1 + int.from_bytes(digest[:16], "big") % (_SERIAL_PRIME - 1)
    return multiplier, int.from_bytes(digest[16:], "big") % _SERIAL_PRIME


def seconds_before(now: datetime, seconds: float) -> datetime:
    """``now`` minus a whole number of seconds (whole seconds keep records byte-stable)."""
    return now - timedelta(seconds=int(seconds))


def clip(value: float, low: float, high: float) -> float:
    """``value`` bounded to ``[low, high]``."""
    return max(low, min(high, value))
