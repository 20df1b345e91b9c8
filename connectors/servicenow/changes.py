"""Change requests with their affected CIs (``task_ci``) and approvals (``sysapproval_approver``).

A change's approvals and affected CIs live in two other tables whose updates do
not touch the change's own ``sys_updated_on``. So the stream keeps one cursor
per table (``{"change_request": {...}, "sysapproval_approver": {...},
"task_ci": {...}}``) and, on an incremental run, reads

1. the changes updated since their cursor, then
2. the approvals and task_ci rows updated since theirs, and re-reads the
   changes they belong to (``sys_idIN...``) that step 1 did not already return.

Every change is emitted whole: its affected CIs and approvals are read for each
page of changes with ``taskIN``/``sysapprovalIN`` queries of at most
``IN_CHUNK`` sys_ids. A CI removed from a change (a deleted task_ci row) and a
deleted change are caught by the periodic full reconcile.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.base.canonical import Approval, CanonicalChange, CanonicalRecord
from connectors.base.stream import Page, SyncContext
from connectors.servicenow.change_mapping import (
    APPROVER_FIELDS,
    CHANGE_FIELDS,
    TASK_CI_FIELDS,
    affected_ci,
    approval,
    change,
)
from connectors.servicenow.mapping import format_sn_datetime, parse_sn_datetime, value
from connectors.servicenow.paging import read_table
from connectors.servicenow.streams import TableStream

IN_CHUNK = 100
CHANGES, APPROVALS, TASK_CI = "change_request", "sysapproval_approver", "task_ci"


@dataclass
class _Marks:
    """Newest ``sys_updated_on`` seen per table in this run."""

    latest: dict[str, datetime] = field(default_factory=dict)

    def see(self, table: str, raws: Sequence[dict[str, Any]]) -> None:
        stamps = [value(raw, "sys_updated_on") for raw in raws]
        newest = max((parse_sn_datetime(s) for s in stamps if s), default=None)
        if newest is not None and (table not in self.latest or newest > self.latest[table]):
            self.latest[table] = newest


class ChangesStream(TableStream):
    """Change requests as canonical changes, with affected CIs and approvals."""

    name = "changes"
    record_model = CanonicalChange
    fields = CHANGE_FIELDS
    default_tables = (CHANGES,)
    pure_normalize = False  # approvals and affected CIs come from other tables

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Changes updated since the cursor, then those whose approvals or CIs changed."""
        marks, emitted = _Marks(), set[str]()
        async for raws in self._scan(CHANGES, CHANGE_FIELDS, self._since(context, CHANGES)):
            marks.see(CHANGES, raws)
            yield Page(records=await self._whole(raws, marks))
            emitted.update(value(raw, "sys_id") or "" for raw in raws)
        if context.mode == "incremental":
            touched = await self._touched(context, marks)
            async for page in self._reread(sorted(touched - emitted), marks):
                yield page
        yield Page(records=[], cursor=self._saved_cursor(context, marks))

    # --- reading ---------------------------------------------------------------

    def _scan(
        self, table: str, fields: Sequence[str], base: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        url = f"{self.config.base_url}/api/now/table/{table}"
        client = self.rest_connector.source_client
        return read_table(client, url, fields=fields, base=base, page_size=self.config.page_size)

    async def _all(self, table: str, fields: Sequence[str], base: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async for raws in self._scan(table, fields, base):
            rows.extend(raws)
        return rows

    async def _whole(self, raws: list[dict[str, Any]], marks: _Marks) -> list[CanonicalRecord]:
        """The changes of one page with their affected CIs and approvals."""
        ids = [sys_id for raw in raws if (sys_id := value(raw, "sys_id"))]
        cis, approvals = await asyncio.gather(
            self._affected(ids, marks), self._approvals(ids, marks)
        )
        return [self._normalize_change(raw, cis, approvals) for raw in raws if value(raw, "sys_id")]

    def _normalize_change(
        self,
        raw: dict[str, Any],
        cis: dict[str, list[str]],
        approvals: dict[str, list[Approval]],
    ) -> CanonicalChange:
        sys_id = value(raw, "sys_id") or ""
        return change(raw, cis.get(sys_id, []), approvals.get(sys_id, []))

    async def _affected(self, ids: list[str], marks: _Marks) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for rows in await self._in_chunks(TASK_CI, TASK_CI_FIELDS, "task", ids):
            marks.see(TASK_CI, rows)
            for task, key in filter(None, map(affected_ci, rows)):
                found[task].append(key)
        return found

    async def _approvals(self, ids: list[str], marks: _Marks) -> dict[str, list[Approval]]:
        found: dict[str, list[Approval]] = defaultdict(list)
        for rows in await self._in_chunks(APPROVALS, APPROVER_FIELDS, "sysapproval", ids):
            marks.see(APPROVALS, rows)
            for task, item in filter(None, map(approval, rows)):
                found[task].append(item)
        return found

    async def _in_chunks(
        self, table: str, fields: Sequence[str], column: str, ids: list[str]
    ) -> list[list[dict[str, Any]]]:
        chunks = [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]
        return list(
            await asyncio.gather(
                *(self._all(table, fields, f"{column}IN{','.join(chunk)}") for chunk in chunks)
            )
        )

    async def _touched(self, context: SyncContext, marks: _Marks) -> set[str]:
        """sys_ids of changes whose approvals or affected CIs changed since their cursors."""
        approvals_since = _join("source_table=change_request", self._since(context, APPROVALS))
        scans = (
            (
                APPROVALS,
                ("sys_id", "sysapproval", "sys_updated_on"),
                "sysapproval",
                approvals_since,
            ),
            (TASK_CI, ("sys_id", "task", "sys_updated_on"), "task", self._since(context, TASK_CI)),
        )
        touched: set[str] = set()
        for table, fields, column, base in scans:
            async for raws in self._scan(table, fields, base):
                marks.see(table, raws)
                touched.update(ref for raw in raws if (ref := value(raw, column)))
        return touched

    async def _reread(self, ids: list[str], marks: _Marks) -> AsyncIterator[Page]:
        """The changes with these sys_ids (ids of other tasks simply match nothing)."""
        for start in range(0, len(ids), IN_CHUNK):
            query = f"sys_idIN{','.join(ids[start : start + IN_CHUNK])}"
            raws = await self._all(CHANGES, CHANGE_FIELDS, query)
            yield Page(records=await self._whole(raws, marks))

    # --- cursor ----------------------------------------------------------------

    def _since(self, context: SyncContext, table: str) -> str:
        start = self._start(context, table)
        return f"sys_updated_on>={start}" if start else ""

    def _start(self, context: SyncContext, table: str) -> str | None:
        if context.mode != "incremental" or not context.cursor:
            return None
        own = context.cursor.get(table)
        stamp = own.get("sys_updated_on") if isinstance(own, dict) else None
        return stamp if isinstance(stamp, str) else None

    def _saved_cursor(self, context: SyncContext, marks: _Marks) -> dict[str, Any]:
        """Per table: the newest stamp seen (or the previous cursor), never past the signpost.

        A full run that saw no row of a table read all of it: the signpost is its cursor.
        """
        cursor: dict[str, Any] = {}
        for table in (CHANGES, APPROVALS, TASK_CI):
            previous = self._start(context, table)
            candidates = [
                marks.latest.get(table),
                parse_sn_datetime(previous) if previous else None,
            ]
            if context.mode == "full" and table not in marks.latest:
                candidates.append(context.started_at)
            known = [stamp for stamp in candidates if stamp is not None]
            if known:
                newest = min(max(known), context.started_at)
                cursor[table] = {"sys_updated_on": format_sn_datetime(newest)}
        return cursor


def _join(*parts: str) -> str:
    return "^".join(part for part in parts if part)
