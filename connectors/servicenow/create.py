"""Creating a change request (``POST /api/now/table/change_request``) without ever creating two.

POSTs are sent once, never retried blindly: a POST that timed out may have
created the change. Each attempt first looks the change up by its marker
(stored in ``correlation_display``; ``correlation_id`` carries the caller's
correlation id), and creates it only when it is not there. Affected CIs are
then linked with ``task_ci`` rows, again only those not linked yet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connectors.base.errors import FatalSourceError
from connectors.base.http import Sleep, SourceClient, decode_json
from connectors.base.itsm import ChangeIntent, CreatedChange, find_or_create
from connectors.servicenow.change_mapping import STATES
from connectors.servicenow.mapping import format_sn_datetime, value

logger = logging.getLogger(__name__)

RESULT_FIELDS = "sys_id,number,state"


def risk_code(score: int) -> str:
    """ServiceNow's risk choice for a 0-100 risk score (1 Very High ... 4 Low)."""
    if score >= 90:
        return "1"
    if score >= 70:
        return "2"
    return "3" if score >= 40 else "4"


def change_body(intent: ChangeIntent) -> dict[str, str]:
    """The change_request fields posted for an intent (stored values)."""
    risk = risk_code(intent.risk_score)
    description = intent.description or (
        f"Requested by the PIP service for a deployment. Risk score {intent.risk_score}/100. "
        f"Correlation id {intent.correlation_id}."
    )
    return {
        "short_description": intent.summary,
        "description": description,
        "type": "normal",
        "risk": risk,
        "start_date": format_sn_datetime(intent.start),
        "end_date": format_sn_datetime(intent.end),
        "cab_required": "true" if risk in ("1", "2") else "false",
        "correlation_id": intent.correlation_id,
        "correlation_display": intent.marker,
    }


class ChangeWriter:
    """Creates one intent's change; ``reader`` retries GETs, ``writer`` sends POSTs once."""

    def __init__(
        self, base_url: str, reader: SourceClient, writer: SourceClient, sleep: Sleep | None = None
    ) -> None:
        self.base_url = base_url
        self.reader = reader
        self.writer = writer
        self._sleep: Sleep = sleep or asyncio.sleep

    async def create(self, intent: ChangeIntent) -> CreatedChange:
        """Find or create the change, then link its CIs."""
        created = await self._find_or_create(intent)
        await self._link(created.source_id, intent.affected)
        return created

    async def _find_or_create(self, intent: ChangeIntent) -> CreatedChange:
        return await find_or_create(
            lambda: self._find(intent.marker),
            lambda: self._post_change(intent),
            sleep=self._sleep,
        )

    async def _find(self, marker: str) -> CreatedChange | None:
        params = {
            "sysparm_query": f"correlation_display={marker}^ORDERBYsys_created_on",
            "sysparm_fields": RESULT_FIELDS,
            "sysparm_limit": 1,
        }
        rows = _result(
            (await self.reader.get_json(self._url("change_request"), params=params)).body
        )
        return _created(rows[0], existed=True) if rows else None

    async def _post_change(self, intent: ChangeIntent) -> CreatedChange:
        response = await self.writer.request(
            "POST",
            self._url("change_request"),
            params={"sysparm_fields": RESULT_FIELDS},
            json=change_body(intent),
        )
        row = _result(decode_json("ServiceNow", response))
        if not isinstance(row, dict):
            raise FatalSourceError("ServiceNow answered the change request without a record")
        return _created(row, existed=False)

    async def _link(self, change_id: str, affected: list[str]) -> None:
        if not affected:
            return
        params = {"sysparm_query": f"task={change_id}", "sysparm_fields": "ci_item"}
        linked = _result((await self.reader.get_json(self._url("task_ci"), params=params)).body)
        present = {value(row, "ci_item") for row in linked if isinstance(row, dict)}
        for ci in dict.fromkeys(affected):
            if ci not in present:
                body = {"task": change_id, "ci_item": ci}
                await self.writer.request("POST", self._url("task_ci"), json=body)

    def _url(self, table: str) -> str:
        return f"{self.base_url}/api/now/table/{table}"


def _result(body: Any) -> Any:
    result = body.get("result") if isinstance(body, dict) else None
    if result is None:
        raise FatalSourceError("ServiceNow answered without a result")
    return result


def _created(row: dict[str, Any], *, existed: bool) -> CreatedChange:
    number, sys_id = value(row, "number"), value(row, "sys_id")
    if not number or not sys_id:
        raise FatalSourceError("ServiceNow returned a change request without number or sys_id")
    state = STATES.get(value(row, "state") or "", "new")
    return CreatedChange(number=number, source_id=sys_id, state=state, existed=existed)
