"""Creating a Freshservice change (``POST /api/v2/changes``) without ever creating two.

The POST is sent once, never retried blindly: one that timed out may have
created the change. The intent's marker is written into the description, and
every attempt first looks for a change carrying it among those updated in the
last ``LOOKBACK`` (``updated_since``); only when none is found is it created.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base.errors import ConfigError, FatalSourceError
from connectors.base.http import Sleep, SourceClient, decode_json
from connectors.base.itsm import ChangeIntent, CreatedChange, find_or_create
from connectors.freshservice.lookups import list_pages
from connectors.freshservice.mapping import STATES, format_time

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(days=7)
STATUS_OPEN, MINOR, MAJOR = 1, 1, 3


def risk_code(score: int) -> int:
    """Freshservice risk for a 0-100 score: 4 Very High, 3 High, 2 Medium, 1 Low."""
    if score >= 90:
        return 4
    if score >= 70:
        return 3
    return 2 if score >= 40 else 1


def change_body(intent: ChangeIntent, requester_id: int) -> dict[str, Any]:
    """The change posted for an intent."""
    risk = risk_code(intent.risk_score)
    text = (
        intent.description or f"Requested by the PIP service. Risk score {intent.risk_score}/100."
    )
    return {
        "subject": intent.summary,
        "description": (
            f"{text}\nCorrelation id: {intent.correlation_id}\nPIP marker: {intent.marker}"
        ),
        "requester_id": requester_id,
        "status": STATUS_OPEN,
        "priority": min(risk, 4),
        "impact": min(risk, 3),
        "risk": risk,
        "change_type": MAJOR if risk >= 3 else MINOR,
        "planned_start_date": format_time(intent.start),
        "planned_end_date": format_time(intent.end),
        "assets": [
            {"display_id": int(ci)} for ci in dict.fromkeys(intent.affected) if ci.isdigit()
        ],
    }


class ChangeWriter:
    """Creates one intent's change; ``reader`` retries GETs, ``writer`` sends the POST once."""

    def __init__(
        self,
        base_url: str,
        reader: SourceClient,
        writer: SourceClient,
        requester_id: int | None,
        sleep: Sleep | None = None,
    ) -> None:
        self.url = f"{base_url}/api/v2/changes"
        self.reader, self.writer = reader, writer
        self.requester_id = requester_id
        self._sleep: Sleep = sleep or asyncio.sleep

    async def create(self, intent: ChangeIntent) -> CreatedChange:
        """Find the change carrying the intent's marker, else create it."""
        requester_id = self.requester_id
        if requester_id is None:
            raise ConfigError(
                "set change_requester_id on the connection to create changes",
                field="change_requester_id",
            )
        _check_affected(intent.affected)
        return await find_or_create(
            lambda: self._find(intent.marker),
            lambda: self._post(intent, requester_id),
            sleep=self._sleep,
        )

    async def _find(self, marker: str) -> CreatedChange | None:
        since = format_time(datetime.now(UTC) - LOOKBACK)
        params = {"updated_since": since, "per_page": 100}
        async for rows in list_pages(self.reader, self.url, "changes", params):
            for row in rows:
                if marker in str(row.get("description_text") or row.get("description") or ""):
                    return _created(row, existed=True)
        return None

    async def _post(self, intent: ChangeIntent, requester_id: int) -> CreatedChange:
        response = await self.writer.request(
            "POST", self.url, json=change_body(intent, requester_id)
        )
        body = decode_json("Freshservice", response)
        row = body.get("change") if isinstance(body, dict) else None
        if not isinstance(row, dict):
            raise FatalSourceError("Freshservice answered the new change without a change")
        return _created(row, existed=False)


def _check_affected(affected: list[str]) -> None:
    bad = [ci for ci in affected if not ci.isdigit()]
    if bad:
        raise ConfigError(
            f"affected CIs must be Freshservice asset display ids ({len(bad)} are not)",
            field="affected",
        )


def _created(row: dict[str, Any], *, existed: bool) -> CreatedChange:
    change_id = row.get("id")
    if not isinstance(change_id, int):
        raise FatalSourceError("Freshservice returned a change without an id")
    status = row.get("status")
    state = STATES.get(status if isinstance(status, int) else -1, "new")
    return CreatedChange(
        number=f"CHN-{change_id}", source_id=str(change_id), state=state, existed=existed
    )
