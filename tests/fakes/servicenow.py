"""A faithful fake of the ServiceNow Table API, ``/api/now/[v1|v2/]table/{tableName}``.

Follows ServiceNow's REST API reference, "Table API" (``GET`` and ``POST
/now/table/{tableName}``; servicenow.com/docs, api-reference/rest-apis/
c_TableAPI; the same text is in the ServiceNow/ServiceNowDocs repository),
"Encoded query strings" and the general REST API error format:

- ``sysparm_limit`` (default 10000) / ``sysparm_offset``; a negative offset
  is a 400; ``Link`` header with ``first``, ``prev``, ``next`` (absent on the
  last page) and ``last``, and ``X-Total-Count`` (records matching the query);
- ``sysparm_query`` encoded queries with ``^``, ``^OR``, ``^NQ``, the usual
  operators, ``IN`` and ``ORDERBY``/``ORDERBYDESC`` on one or more fields
  (:mod:`tests.fakes.servicenow_query`). As documented, invalid parts are
  ignored; the fake records them in ``invalid_query_parts``;
- ``sysparm_fields`` (dot-walked ``parent.serial_number``),
  ``sysparm_display_value`` ``false``/``true``/``all`` and
  ``sysparm_exclude_reference_link`` (:mod:`tests.fakes.servicenow_render`);
- empty fields are ``""``; values are strings; date-times internal UTC
  ``YYYY-MM-DD HH:MM:SS``; version ``v1`` answers 404 when nothing matches,
  the default (latest) answers 200 with an empty ``result``;
- ``POST`` inserts a record (fields the table lacks are ignored) and answers
  201 ``{"result": record}``; a body that is not a JSON object is a 400;
- basic auth or an OAuth bearer token from ``/oauth_token.do``
  (:mod:`tests.fakes.servicenow_oauth`): a 401 with ``{"error": {"message":
  "User Not Authenticated", "detail": "Required to provide Auth
  information"}, "status": "failure"}`` otherwise;
- rate limiting: 429 with ``Retry-After`` (seconds), ``X-RateLimit-Limit``
  as described in "Inbound REST API rate limiting".

Tables: CMDB computers and their reference tables (:mod:`servicenow_data`),
``cmdb_rel_ci``, ``change_request``, ``task_ci``, ``sysapproval_approver``
(:mod:`servicenow_itsm`). Faults for tests: ``fail_next``, ``fail_on_page``
(the n-th page served from now on keeps failing), ``delay_next_post`` (the
record is created, the answer comes late), and data changes with
``touch``/``add``/``delete``. Ordered results are cached per table version,
and keyset pages are a bisect into them, so 100,000 rows page quickly.
"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import Fault
from tests.fakes.servicenow_data import CmdbData, computer, generate, sn_datetime
from tests.fakes.servicenow_itsm import add_itsm
from tests.fakes.servicenow_oauth import TokenIssuer
from tests.fakes.servicenow_query import Evaluator, parse
from tests.fakes.servicenow_render import Tables

DEFAULT_LIMIT = 10000
UNAUTHENTICATED = ("User Not Authenticated", "Required to provide Auth information")


def error_body(message: str, detail: str | None) -> bytes:
    """ServiceNow's REST error body."""
    return orjson.dumps({"error": {"message": message, "detail": detail}, "status": "failure"})


class ServiceNowFake:
    """State and ASGI app of one fake instance."""

    def __init__(
        self,
        computers: int = 0,
        *,
        relationships: int = 0,
        changes: int = 0,
        seed: int = 1,
        username: str = "svc.pip",
        password: str = "s3cret-Pa55",
        display_tz: timezone = timezone(timedelta(hours=-8)),
    ) -> None:
        self.username = username
        self.password = password
        self.display_tz = display_tz
        self.oauth = TokenIssuer()
        self.requests: deque[dict[str, str]] = deque(maxlen=2000)
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.invalid_query_parts: list[str] = []
        self._faults: deque[Fault] = deque()
        self._failing_page: tuple[int, Fault, int | None] | None = None
        self._served = 0
        self._post_delay = 0.0
        self._lock = threading.Lock()
        self._load(computers, relationships, changes, seed)
        self.app = Starlette(
            routes=[
                Route("/oauth_token.do", self._token, methods=["POST"]),
                Route("/api/now/table/{table}", self._table, methods=["GET", "POST"]),
                Route("/api/now/{version}/table/{table}", self._table, methods=["GET", "POST"]),
            ]
        )

    def _load(self, computers: int, relationships: int, changes: int, seed: int) -> None:
        self.data: CmdbData = generate(computers, seed=seed)
        add_itsm(self.data, relationships=relationships, changes=changes, seed=seed)
        self._changed()

    # --- test controls ---------------------------------------------------------

    def reset(
        self, computers: int, *, relationships: int = 0, changes: int = 0, seed: int = 1
    ) -> None:
        """Fresh data, no faults, empty request log."""
        with self._lock:
            self._load(computers, relationships, changes, seed)
            self._faults.clear()
            self._failing_page = None
            self._post_delay = 0.0
            self.requests.clear()
            self.posts.clear()
            self.invalid_query_parts.clear()

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, garbage: bool = False
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (or a 200 garbage body)."""
        with self._lock:
            self._faults.extend(Fault(status, retry_after, garbage) for _ in range(times))

    def fail_on_page(
        self,
        page: int,
        status: int = 500,
        *,
        times: int | None = None,
        retry_after: str | None = None,
        garbage: bool = False,
    ) -> None:
        """From the ``page``-th page served from now on, fail ``times`` times (None: forever)."""
        with self._lock:
            self._failing_page = (page, Fault(status, retry_after, garbage), times)
            self._served = 0

    def delay_next_post(self, seconds: float) -> None:
        """Create the next POSTed record at once but answer only after ``seconds``."""
        self._post_delay = seconds

    def clear_faults(self) -> None:
        """Forget programmed faults."""
        with self._lock:
            self._faults.clear()
            self._failing_page = None

    def rows(self, table: str = "cmdb_ci_computer") -> list[dict[str, Any]]:
        """The stored rows of ``table`` (internal values)."""
        return self.data.tables.get(table, [])

    def touch(
        self,
        ids: list[str],
        *,
        at: datetime | None = None,
        table: str = "cmdb_ci_computer",
        **fields: str,
    ) -> None:
        """Update rows: set ``fields`` and ``sys_updated_on`` (default now)."""
        stamp = sn_datetime(at or datetime.now(UTC))
        wanted = set(ids)
        with self._lock:
            for row in self.rows(table):
                if row["sys_id"] in wanted:
                    row.update(fields, sys_updated_on=stamp)
            self._changed()

    def add(self, rows: list[dict[str, Any]], table: str = "cmdb_ci_computer") -> None:
        """Insert rows."""
        with self._lock:
            self.data.tables.setdefault(table, []).extend(rows)
            self._changed()

    def delete(self, ids: list[str], table: str = "cmdb_ci_computer") -> None:
        """Delete rows by sys_id."""
        gone = set(ids)
        with self._lock:
            self.data.tables[table] = [r for r in self.rows(table) if r["sys_id"] not in gone]
            self._changed()

    def _changed(self) -> None:
        self._evaluators: dict[str, Evaluator] = {}
        self._columns: dict[str, set[str]] = {}
        self.tables = Tables(self.data, self.display_tz)

    # --- the API ---------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        return await self.oauth.endpoint(request, self._user_ok)

    async def _table(self, request: Request) -> Response:
        self.requests.append(dict(request.query_params))
        if not self._authorized(request):
            return _json(401, error_body(*UNAUTHENTICATED))
        fault = self._fault()
        if fault is not None:
            return fault
        table = request.path_params["table"]
        if table not in self.data.tables:
            return _json(400, error_body(f"Invalid table {table}", None))
        if request.method == "POST":
            return await self._insert(request, table)
        return self._page(request, table)

    def _user_ok(self, username: str, password: str) -> bool:
        return (username, password) == (self.username, self.password)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization")
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return header == f"Basic {expected}" or self.oauth.valid(header)

    def _fault(self) -> Response | None:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self._failing_page is not None:
                fault = self._page_fault(*self._failing_page)
            if fault is None:
                self._served += 1
        return _fault_response(fault) if fault else None

    def _page_fault(self, page: int, fault: Fault, times: int | None) -> Fault | None:
        if self._served + 1 < page:
            return None
        if times is not None:
            self._failing_page = (page, fault, times - 1) if times > 1 else None
        return fault

    def _page(self, request: Request, table: str) -> Response:
        limit = _int(request, "sysparm_limit", DEFAULT_LIMIT)
        offset = _int(request, "sysparm_offset", 0)
        if offset < 0:
            return _json(400, error_body(f"offset is {offset}", "Negative offset is not supported"))
        matches = self._matches(table, request.query_params.get("sysparm_query", ""))
        rows = matches[offset : offset + max(limit, 0)]
        if not rows and request.path_params.get("version") == "v1":
            detail = "Records matching query not found. Check query parameter or offset parameter"
            return _json(404, error_body("No Record found", detail))
        serialize = self._renderer(request, table, serialized=True)
        body = orjson.dumps({"result": [serialize(row) for row in rows]})
        headers = {"X-Total-Count": str(len(matches))}
        if request.query_params.get("sysparm_suppress_pagination_header") != "true":
            headers["Link"] = _links(request, offset, max(limit, 1), len(matches))
        return _json(200, body, headers)

    def _matches(self, table: str, query: str) -> list[dict[str, Any]]:
        with self._lock:
            parsed = parse(query, self._table_columns(table))
            self.invalid_query_parts.extend(parsed.invalid)
            if table not in self._evaluators:
                self._evaluators[table] = Evaluator(self.data.tables[table])
            return self._evaluators[table].run(parsed)

    def _table_columns(self, table: str) -> set[str]:
        if table not in self._columns:
            rows = self.data.tables[table]
            empty = _EMPTY.get(
                table, _COMPUTER_COLUMNS if table.startswith("cmdb_ci") else {"sys_id"}
            )
            self._columns[table] = set().union(*(r.keys() for r in rows[:1])) or empty
        return self._columns[table]

    def _renderer(self, request: Request, table: str, *, serialized: bool = False) -> Any:
        params = request.query_params
        mode = params.get("sysparm_display_value", "false").lower()
        no_link = params.get("sysparm_exclude_reference_link") == "true"
        fields = params.get("sysparm_fields")
        columns = self._table_columns(table)
        names = [f for f in fields.split(",") if f] if fields else sorted(columns)
        names = [n for n in names if n in columns or "." in n]
        make = self.tables.serializer if serialized else self.tables.renderer
        return make(table, names, mode, no_link, str(request.base_url))

    async def _insert(self, request: Request, table: str) -> Response:
        try:
            sent = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            sent = None
        if not isinstance(sent, dict):
            detail = "The payload is not valid JSON."
            return _json(400, error_body("Exception while reading request", detail))
        row = self._new_row(table, sent)
        self.add([row], table)
        self.posts.append((table, sent))
        delay, self._post_delay = self._post_delay, 0.0
        if delay:
            await asyncio.sleep(delay)
        body = orjson.dumps({"result": self._renderer(request, table)(row)})
        return _json(201, body, {"Location": f"{request.url}/{row['sys_id']}"})

    def _new_row(self, table: str, sent: dict[str, Any]) -> dict[str, Any]:
        stamp = sn_datetime(datetime.now(UTC))
        columns = self._table_columns(table)
        row: dict[str, Any] = dict.fromkeys(columns, "")
        row.update({k: str(v) for k, v in sent.items() if k in columns})
        row.update(sys_id=uuid.uuid4().hex, sys_created_on=stamp, sys_updated_on=stamp)
        if table == "change_request":
            number = 30001 + len(self.rows(table))
            row.update(number=f"CHG{number:07d}", state=row.get("state") or "-5")
            row.update(approval=row.get("approval") or "not requested")
            row["sys_class_name"] = "change_request"
        return row


_EMPTY: dict[str, set[str]] = {
    "cmdb_rel_ci": {"sys_id", "parent", "child", "type", "sys_updated_on"},
    "change_request": {
        "sys_id", "number", "short_description", "description", "state", "type", "risk",
        "impact", "approval", "start_date", "end_date", "cab_required", "assignment_group",
        "requested_by", "correlation_id", "correlation_display", "sys_class_name",
        "sys_created_on", "sys_updated_on",
    },
    "task_ci": {"sys_id", "task", "ci_item", "sys_updated_on"},
    "sysapproval_approver": {
        "sys_id", "sysapproval", "source_table", "approver", "state", "group", "sys_updated_on",
    },
}  # fmt: skip


_COMPUTER_COLUMNS = set(computer(0, random.Random(0), updated=datetime.now(UTC)))


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


def _links(request: Request, offset: int, limit: int, total: int) -> str:
    def url(at: int) -> str:
        return str(request.url.include_query_params(sysparm_offset=at, sysparm_limit=limit))

    last = max((total - 1) // limit * limit, 0)
    parts = [f'<{url(0)}>;rel="first"', f'<{url(offset - limit)}>;rel="prev"']
    if offset + limit < total:
        parts.append(f'<{url(offset + limit)}>;rel="next"')
    parts.append(f'<{url(last)}>;rel="last"')
    return ",".join(parts)


_FAULT_BODIES = {
    429: ("Rate limit exceeded", "Too many requests for this user; retry later"),
    401: UNAUTHENTICATED,
    403: ("User Not Authorized", "Failed API level ACL Validation"),
    404: ("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
    400: ("Invalid query", "The request could not be processed"),
}


def _fault_response(fault: Fault) -> Response:
    if fault.garbage:
        return Response(
            b"<html><body>Instance hibernating</body></html>", 200, media_type="text/html"
        )
    headers = {"X-RateLimit-Limit": "1000"} if fault.status == 429 else {}
    message, detail = _FAULT_BODIES.get(
        fault.status, ("Server error", f"Transaction failed with status {fault.status}")
    )
    if fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    return _json(fault.status, error_body(message, detail), headers)


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type="application/json")
