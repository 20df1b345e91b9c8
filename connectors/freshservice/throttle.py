"""Freshservice's per-minute rate window: ``X-Ratelimit-Remaining`` without a reset header.

Freshservice counts requests per minute (``X-Ratelimit-Total`` per minute) and
sends no reset time, so when ``X-Ratelimit-Remaining`` reaches 0 the next
request waits for the next minute instead of running into a 429.
"""

from __future__ import annotations

import logging
import math

import httpx

from connectors.base.http import SourceClient

logger = logging.getLogger(__name__)

WINDOW = 60.0


class MinuteWindowClient(SourceClient):
    """A SourceClient that pauses until the next minute when the minute's budget is used up."""

    def _note_rate_window(self, response: httpx.Response) -> None:
        super()._note_rate_window(response)
        remaining = response.headers.get("X-Ratelimit-Remaining", "").strip()
        if remaining.isdigit() and int(remaining) == 0 and self._resume_at is None:
            now = self._clock()
            self._resume_at = math.floor(now / WINDOW) * WINDOW + WINDOW
            logger.info("%s request budget for this minute is used up", self.source)
