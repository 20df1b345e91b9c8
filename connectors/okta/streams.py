"""Okta streams: users and groups (with members), incremental by ``lastUpdated``.

Users: full runs ask for ``filter=lastUpdated gt "1970-01-01T00:00:00.000Z"``
rather than the plain list, because the plain list leaves out DEPROVISIONED
users ("User query options", developer.okta.com/docs/reference/user-query):
a deactivated user must stay known, disabled. Incremental runs use
``filter=lastUpdated ge "<cursor>"``: inclusive, because Okta stamps whole
seconds, so a user updated in the cursor's second is read again rather than
missed. Deleted users are not listed anywhere; full runs reconcile them.

Groups: ``filter=lastUpdated ge "..." or lastMembershipUpdated ge "..."``, so a
membership change brings the group back; members come from
``/api/v1/groups/{id}/users``. Pages follow ``Link: <...>; rel="next"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.base.canonical import CanonicalGroup, CanonicalRecord, CanonicalUser
from connectors.base.paginators import LinkHeaderPaginator
from connectors.base.rest import RestStream
from connectors.base.stream import Page, SyncContext
from connectors.base.types import Sensitivity
from connectors.okta.config import OktaConfig
from connectors.okta.mapping import to_group, to_user, user_key

EPOCH = "1970-01-01T00:00:00.000Z"
MEMBER_PAGE = 1000


class OktaStream(RestStream):
    """A paged Okta collection with a ``lastUpdated`` cursor."""

    replication_key = "lastUpdated"
    filter_fields: ClassVar[tuple[str, ...]] = ("lastUpdated",)

    @property
    def config(self) -> OktaConfig:
        """The connection's settings."""
        config = self.connector.config
        assert isinstance(config, OktaConfig)
        return config

    def request_params(self, context: SyncContext) -> dict[str, Any]:
        """``limit`` and the lastUpdated filter (every record on a full run)."""
        start = self.start_value(context)
        if start is None:
            expression = f'lastUpdated gt "{EPOCH}"'
        else:
            expression = " or ".join(f'{name} ge "{start}"' for name in self.filter_fields)
        return {"limit": self.config.page_size, "filter": expression}

    def format_cursor_value(self, value: datetime) -> str:
        """Okta's timestamp format: UTC with milliseconds."""
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class UsersStream(OktaStream):
    """``/api/v1/users``: every status, DEPROVISIONED and SUSPENDED as disabled."""

    name = "users"
    path = "api/v1/users"
    record_model = CanonicalUser
    pure_normalize = True  # to_user reads the listed user alone (groups carry membership)
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "email": Sensitivity.INTERNAL,
        "last_sign_in": Sensitivity.CONFIDENTIAL,
        "employee_id": Sensitivity.RESTRICTED,
        "phone": Sensitivity.RESTRICTED,
    }

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """An Okta user as a canonical user."""
        return to_user(raw)


class GroupsStream(OktaStream):
    """``/api/v1/groups`` with each group's members."""

    name = "groups"
    path = "api/v1/groups"
    record_model = CanonicalGroup
    filter_fields = ("lastUpdated", "lastMembershipUpdated")

    def replication_value(self, raw: dict[str, Any]) -> datetime | None:
        """The later of lastUpdated and lastMembershipUpdated."""
        stamps = [raw.get(name) for name in self.filter_fields]
        values = [self.parse_cursor_value(s) for s in stamps if isinstance(s, str) and s]
        return max(values, default=None)

    def normalize(self, raw: dict[str, Any]) -> CanonicalRecord:
        """The group without members (filled in by ``pages``)."""
        return to_group(raw, [])

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Group pages, each group with its members."""
        async for page in super().pages(context):
            await asyncio.gather(*(self._fill(record) for record in page.records))
            yield page

    async def _fill(self, record: CanonicalRecord) -> None:
        assert isinstance(record, CanonicalGroup)
        url = f"{self.config.base_url}/api/v1/groups/{record.source_id}/users"
        members = await self._all(url, {"limit": MEMBER_PAGE})
        record.members = sorted({key for key in map(user_key, members) if key})

    async def _all(self, url: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator = LinkHeaderPaginator()
        while True:
            fetched = await self.rest_connector.source_client.get_json(url, params=params)
            page = self.extract_records(fetched.body)
            found.extend(page)
            paginator.advance(fetched.response, fetched.body, page)
            if paginator.finished:
                return found
            url, params = str(paginator.next_request().url), None
            self._check_same_origin(url)
