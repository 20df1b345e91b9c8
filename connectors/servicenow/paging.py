"""Keyset paging over Table API results ordered by ``sys_updated_on`` then ``sys_id``.

Offset paging (``sysparm_offset``) over a table ordered by ``sys_updated_on``
skips a record whenever a record already read is updated mid-run: the updated
record moves to the end of the order and everything after it shifts back one
place. Keyset paging asks for the records after the last one read instead::

    <base>^sys_updated_on>T^NQ<base>^sys_updated_on=T^sys_id>ID^ORDERBYsys_updated_on^ORDERBYsys_id

(``^NQ`` starts a second query whose results are OR-ed with the first, per
ServiceNow's "Encoded query strings" documentation; ``<base>`` is repeated in
both because each ``^NQ`` group is independent). An incremental start
``sys_updated_on>=S`` need not be repeated: every later key is at or after S.
A record updated mid-run is then read again at the end instead of pushing
another record out of reach.

The run ends on an empty page, or when ``X-Total-Count`` (the number of records
matching the query) says the page held every remaining record. A short page
alone does not end it: ServiceNow may drop records a user's ACLs hide from a
page after counting them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from connectors.base.errors import FatalSourceError
from connectors.base.http import SourceClient
from connectors.base.paginators import NextRequest, Paginator
from connectors.servicenow.mapping import value

ORDER = "ORDERBYsys_updated_on^ORDERBYsys_id"


def keyset_query(base: str, updated: str, sys_id: str) -> str:
    """The encoded query for the records after (``updated``, ``sys_id``) matching ``base``."""
    prefix = f"{base}^" if base else ""
    after = f"{prefix}sys_updated_on>{updated}"
    same_second = f"{prefix}sys_updated_on={updated}^sys_id>{sys_id}"
    return f"{after}^NQ{same_second}^{ORDER}"


def first_query(base: str) -> str:
    """The encoded query of the first page: ``base`` in the stable order."""
    return f"{base}^{ORDER}" if base else ORDER


class KeysetPaginator(Paginator):
    """Pages by the (sys_updated_on, sys_id) of the last record read; see the module doc."""

    def __init__(self, base: str | None = None) -> None:
        super().__init__()
        self.base = base
        self._last: tuple[str, str] | None = None

    def first_request(self) -> NextRequest:
        """The first page: ``base`` in the stable order (None: the stream's own query)."""
        if self.base is None:
            return NextRequest()
        return NextRequest(params={"sysparm_query": first_query(self.base)})

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """More may follow unless the page was empty or held every match."""
        if not records:
            return False
        total = response.headers.get("X-Total-Count", "")
        return not (total.isdigit() and int(total) <= len(records))

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        last = records[-1]
        updated, sys_id = value(last, "sys_updated_on"), value(last, "sys_id")
        if not updated or not sys_id:
            raise FatalSourceError(
                "ServiceNow returned a record without sys_updated_on or sys_id; "
                "cannot ask for the next page"
            )
        if self._last is not None and (updated, sys_id) <= self._last:
            raise FatalSourceError("ServiceNow returned the same page twice (keyset did not move)")
        self._last = (updated, sys_id)

    def next_request(self) -> NextRequest:
        """The page after the last record read."""
        assert self._last is not None
        query = keyset_query(self.base or "", *self._last)
        return NextRequest(params={"sysparm_query": query})


async def read_table(
    client: SourceClient,
    url: str,
    *,
    fields: Sequence[str],
    base: str,
    page_size: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every record of a table matching ``base``, page by page (keyset, values + display values)."""
    paginator = KeysetPaginator(base)
    request = paginator.first_request()
    params = {
        "sysparm_fields": ",".join(fields),
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_limit": page_size,
    }
    while True:
        fetched = await client.get_json(url, params={**params, **request.params})
        records = _records(fetched.body, url)
        paginator.advance(fetched.response, fetched.body, records)
        yield records
        if paginator.finished:
            return
        request = paginator.next_request()


def _records(body: Any, url: str) -> list[dict[str, Any]]:
    records = body.get("result") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        table = url.rsplit("/", 1)[-1]
        raise FatalSourceError(f"ServiceNow answered without a list of records for {table}")
    return records
