"""Auth0 streams: users, roles (with their users) and organizations (with their members).

Users (``GET /api/v2/users``, "View Search Results by Page"): ``page``/``per_page``
(at most 100) with ``include_totals``, ``search_engine=v3``, sorted by
``created_at`` so that users updated during the run do not move between pages.
Auth0 serves only the first 1000 results of a listing or search, so a run first
asks for the total: over 1000 it reads a users-export job instead
(:mod:`connectors.auth0.export`). Incremental runs search
``q=updated_at:[<cursor - lag> TO *]`` (Lucene range, inclusive; the search
index lags writes by seconds, hence the overlap). Auth0 lists no deleted users:
full runs reconcile them.

Roles (``GET /api/v2/roles``, page/per_page) and organizations (``GET
/api/v2/organizations``) have no change filter: read in full every run. Their
members (``/roles/{id}/users``, ``/organizations/{id}/members``) use checkpoint
pagination: ``take`` without ``from`` first, then ``from=<next>`` while the
response carries ``next``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.auth0.config import Auth0Config
from connectors.auth0.export import ExportHost, export_rows, start_export, wait_for_export
from connectors.auth0.mapping import USER_FIELDS, member_keys, to_org_group, to_role_group, to_user
from connectors.base.canonical import CanonicalGroup, CanonicalRecord, CanonicalUser
from connectors.base.errors import FatalSourceError
from connectors.base.paginators import CursorTokenPaginator, PageNumberPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext
from connectors.base.types import Sensitivity

LIST_LIMIT = 1000
SEARCH_LAG = timedelta(seconds=60)


class TotalsPaginator(PageNumberPaginator):
    """Zero-based ``page``/``per_page``: stops at the reported ``total``, else a short page."""

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """More pages while ``start + length`` is below ``total``."""
        total = body.get("total") if isinstance(body, dict) else None
        if isinstance(total, int):
            return (self.page + 1) * self.page_size < total and len(records) > 0
        return super().has_more(response, body, records)


class Auth0Stream(RestStream):
    """A Management API collection of one Auth0 tenant."""

    @property
    def config(self) -> Auth0Config:
        """The connection's settings."""
        config = self.connector.config
        assert isinstance(config, Auth0Config)
        return config

    def totals_paginator(self) -> Paginator:
        """Zero-based page numbers of the configured size."""
        return TotalsPaginator(self.config.page_size, start=0)

    async def checkpoint_list(self, path: str, records_path: str) -> list[dict[str, Any]]:
        """Every item of a checkpoint-paginated list (``take``, then ``from=next``)."""
        url = f"{self.config.base_url}/{path}"
        paginator = CursorTokenPaginator(path="next", param="from")
        params: dict[str, Any] = {"take": self.config.page_size}
        found: list[dict[str, Any]] = []
        while True:
            fetched = await self.rest_connector.source_client.get_json(url, params=params)
            items = _items(fetched.body, records_path, self.connector.title, path)
            found.extend(items)
            paginator.advance(fetched.response, fetched.body, items)
            if paginator.finished:
                return found
            params = {"take": self.config.page_size, **paginator.next_request().params}


class UsersStream(Auth0Stream):
    """``/api/v2/users`` (1000 or fewer) or a users-export job; blocked users disabled."""

    name = "users"
    path = "api/v2/users"
    records_path = "users"
    primary_key = "user_id"
    replication_key = "updated_at"
    record_model = CanonicalUser
    pure_normalize = True  # to_user reads the listed user alone (export pages are not hashed)
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "email": Sensitivity.INTERNAL,
        "last_sign_in": Sensitivity.CONFIDENTIAL,
        "employee_id": Sensitivity.RESTRICTED,
        "phone": Sensitivity.RESTRICTED,
    }

    def new_paginator(self) -> Paginator:
        """Zero-based pages with totals."""
        return self.totals_paginator()

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Mapped fields, totals, a stable order; the updated_at range on incremental runs."""
        params: dict[str, Any] = {
            "fields": ",".join(USER_FIELDS), "include_fields": "true",
            "include_totals": "true", "search_engine": "v3", "sort": "created_at:1",
        }  # fmt: skip
        start = self.start_value(context)
        if start is not None:
            since = self.parse_cursor_value(start) - SEARCH_LAG
            params["q"] = f"updated_at:[{self.format_cursor_value(since)} TO *]"
        return params

    def format_cursor_value(self, value: datetime) -> str:
        """Auth0's timestamp format: UTC with milliseconds."""
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """An Auth0 user as a canonical user."""
        return to_user(raw)

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Pages of the listing, or of the export file when the tenant has over 1000 matches."""
        if await self._total(context) <= LIST_LIMIT:
            async for page in super().pages(context):
                yield page
            return
        async for page in self._exported(context):
            yield page

    async def _total(self, context: SyncContext) -> int:
        params = {**self.request_params(context), "page": 0, "per_page": 1, "fields": "user_id"}
        fetched = await self.rest_connector.source_client.get_json(self.url(context), params=params)
        total = fetched.body.get("total") if isinstance(fetched.body, dict) else None
        if not isinstance(total, int) or total < 0:
            raise FatalSourceError(f"{self.connector.title} answered a user count without a total")
        return total

    async def _exported(self, context: SyncContext) -> AsyncIterator[Page]:
        host, client, base = self.connector, self.rest_connector.source_client, self.config.base_url
        assert isinstance(host, ExportHost)
        job = await start_export(client, base, USER_FIELDS)
        timeout = float(self.config.export_timeout)
        location = await wait_for_export(client, base, job, sleep=host.pause, limit=timeout)
        latest: datetime | None = None
        page = Page(records=[])
        async for raw in export_rows(host.download_client(), location, self.connector.title):
            stamp = self._stamp(raw)
            latest = stamp if latest is None or (stamp and stamp > latest) else latest
            page.records.append(self._normalize(raw))
            if len(page.records) >= self.config.page_size:
                yield page
                page = Page(records=[])
        page.cursor = self.cursor_from(latest, context)
        yield page

    def _stamp(self, raw: dict[str, Any]) -> datetime | None:
        try:
            return self.replication_value(raw)
        except ValueError as err:
            raise FatalSourceError(
                f"Stream users: record {self.record_id(raw)} has an unreadable updated_at"
            ) from err


class RolesStream(Auth0Stream):
    """``/api/v2/roles``: one group per role granting it to the role's users."""

    name = "roles"
    path = "api/v2/roles"
    records_path = "roles"
    record_model = CanonicalGroup

    def new_paginator(self) -> Paginator:
        """Zero-based pages with totals."""
        return self.totals_paginator()

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """Totals, so paging stops exactly at the end."""
        return {"include_totals": "true"}

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The role without members (filled in by ``pages``)."""
        return to_role_group(raw, [])

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Role pages, each role with its users."""
        async for page in super().pages(context):
            await asyncio.gather(*(self._fill(record) for record in page.records))
            yield page

    async def _fill(self, record: CanonicalRecord) -> None:
        assert isinstance(record, CanonicalGroup)
        users = await self.checkpoint_list(f"api/v2/roles/{record.source_id}/users", "users")
        record.members = member_keys(users)


class OrganizationsStream(Auth0Stream):
    """``/api/v2/organizations`` (checkpoint pagination): one group per organization."""

    name = "organizations"
    path = "api/v2/organizations"
    records_path = "organizations"
    record_model = CanonicalGroup

    def new_paginator(self) -> Paginator:
        """Checkpoint pagination: ``next`` sent back as ``from``."""
        return CursorTokenPaginator(path="next", param="from")

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """``take`` starts checkpoint pagination."""
        return {"take": self.config.page_size}

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The organization without members (filled in by ``pages``)."""
        return to_org_group(raw, [])

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Organization pages with members; nothing when organizations are turned off."""
        if not self.config.include_organizations:
            yield Page(records=[])
            return
        async for page in super().pages(context):
            await asyncio.gather(*(self._fill(record) for record in page.records))
            yield page

    async def _fill(self, record: CanonicalRecord) -> None:
        assert isinstance(record, CanonicalGroup)
        path = f"api/v2/organizations/{record.source_id}/members"
        record.members = member_keys(await self.checkpoint_list(path, "members"))


def _items(body: Any, records_path: str, source: str, path: str) -> list[dict[str, Any]]:
    items = body.get(records_path) if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FatalSourceError(f"{source} answered {path} without a list of {records_path}")
    return items
