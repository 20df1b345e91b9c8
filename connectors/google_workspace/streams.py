"""Google Workspace streams: users, and groups with their direct members.

Follows the Directory API reference: ``users.list`` (``GET /users``:
``customer``, ``maxResults`` 1-500, ``orderBy``, ``projection``,
``pageToken``; ``nextPageToken`` while more follow), ``groups.list``
(``maxResults`` at most 200) and ``members.list`` (``GET
/groups/{groupKey}/members``, ``maxResults`` at most 200). Empty lists are
left out of the body (only ``kind`` and ``etag`` come back).

Incremental: the Directory API has no ``updatedMin``-style filter for users,
groups or members (user ``query`` searches attributes, not modification
times; changes are only exposed through the Reports API and push channels), so
both streams are read in full every run and deletions are reconciled each time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from connectors.base.canonical import CanonicalGroup, CanonicalRecord, CanonicalUser
from connectors.base.errors import FatalSourceError
from connectors.base.paginators import CursorTokenPaginator, Paginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext
from connectors.base.types import Sensitivity
from connectors.google_workspace.config import GoogleWorkspaceConfig
from connectors.google_workspace.mapping import member_emails, to_group, to_user

GROUP_PAGE = 200


class DirectoryStream(RestStream):
    """A Directory API list paged with ``pageToken``."""

    kind: ClassVar[str]

    @property
    def config(self) -> GoogleWorkspaceConfig:
        """The connection's settings."""
        config = self.connector.config
        assert isinstance(config, GoogleWorkspaceConfig)
        return config

    def new_paginator(self) -> Paginator:
        """``nextPageToken`` sent back as ``pageToken``."""
        return CursorTokenPaginator(path="nextPageToken", param="pageToken")

    def extract_records(self, body: Any) -> list[dict[str, Any]]:
        """The list at ``records_path``; an answer of the right kind without it is empty."""
        if (
            isinstance(body, dict)
            and body.get("kind") == self.kind
            and self.records_path not in body
        ):
            return []
        return super().extract_records(body)


class UsersStream(DirectoryStream):
    """``users.list`` of the whole customer; suspended and archived users disabled."""

    name = "users"
    path = "users"
    records_path = "users"
    kind = "admin#directory#users"
    record_model = CanonicalUser
    pure_normalize = True  # to_user reads the listed user alone (groups carry membership)
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "email": Sensitivity.INTERNAL,
        "last_sign_in": Sensitivity.CONFIDENTIAL,
        "employee_id": Sensitivity.RESTRICTED,
        "phone": Sensitivity.RESTRICTED,
    }

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The customer, page size, full projection, a stable order."""
        return {
            "customer": self.config.customer,
            "maxResults": self.config.page_size,
            "projection": "full",
            "orderBy": "email",
        }

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """A Directory user as a canonical user."""
        return to_user(raw)


class GroupsStream(DirectoryStream):
    """``groups.list`` with each group's direct members (users and nested groups)."""

    name = "groups"
    path = "groups"
    records_path = "groups"
    kind = "admin#directory#groups"
    record_model = CanonicalGroup

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """The customer and page size (groups.list allows at most 200)."""
        return {
            "customer": self.config.customer,
            "maxResults": min(self.config.page_size, GROUP_PAGE),
        }

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The group without members (filled in by ``pages``)."""
        return to_group(raw, [])

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Group pages, each group with its direct members."""
        async for page in super().pages(context):
            await asyncio.gather(*(self._fill(record) for record in page.records))
            yield page

    async def _fill(self, record: CanonicalRecord) -> None:
        assert isinstance(record, CanonicalGroup)
        members = await self._members(record.source_id)
        record.members = member_emails(members, "USER")
        record.member_groups = member_emails(members, "GROUP")

    async def _members(self, group_id: str) -> list[dict[str, Any]]:
        url = f"{self.config.base_url}/groups/{group_id}/members"
        paginator, found = self.new_paginator(), []
        params: dict[str, Any] = {"maxResults": min(self.config.page_size, GROUP_PAGE)}
        while True:
            fetched = await self.rest_connector.source_client.get_json(url, params=params)
            items = _members_of(fetched.body, self.connector.title, group_id)
            found.extend(items)
            paginator.advance(fetched.response, fetched.body, items)
            if paginator.finished:
                return found
            params = {**params, **paginator.next_request().params}


def _members_of(body: Any, source: str, group_id: str) -> list[dict[str, Any]]:
    if isinstance(body, dict) and body.get("kind") == "admin#directory#members":
        items = body.get("members", [])
        if isinstance(items, list) and all(isinstance(i, dict) for i in items):
            return items
    raise FatalSourceError(f"{source} answered the members of group {group_id} without a list")
