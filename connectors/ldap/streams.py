"""The LDAP streams: users, groups and computers, read with paged searches.

Every stream reads its base with its filter; an incremental run narrows the filter
to entries changed since the saved cursor. Membership lives on group entries
(``member``), and neither OpenLDAP's memberof overlay nor AD's back-links change a
user's ``modifyTimestamp``/``uSNChanged``, so an incremental users run reads and
emits every user when any group changed since the cursor: the users' group lists
(additions and removals, at any nesting depth) are then right again.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, ClassVar, cast

from pydantic import ValidationError

from connectors.base.canonical import (
    CanonicalDevice,
    CanonicalGroup,
    CanonicalRecord,
    CanonicalUser,
)
from connectors.base.errors import FatalSourceError
from connectors.base.stream import Page, Stream, SyncContext
from connectors.ldap.entry import Entry
from connectors.ldap.mapping import (
    COMPUTER_ATTRIBUTES,
    GROUP_ATTRIBUTES,
    ID_ATTRIBUTES,
    device_record,
    group_record,
    user_attribute_names,
    user_record,
)
from connectors.ldap.paging import PagedSearch

if TYPE_CHECKING:
    from connectors.ldap.connector import LdapConnector, RunState

logger = logging.getLogger(__name__)


class LdapStream(Stream):
    """Base of the LDAP streams: one paged search, records mapped entry by entry."""

    kind: ClassVar[str]
    primary_key: ClassVar[str] = "source_id"
    replication_key: ClassVar[str | None] = "modifyTimestamp"

    @property
    def ldap(self) -> LdapConnector:
        """The connector, typed."""
        return cast("LdapConnector", self.connector)

    def attributes(self) -> tuple[str, ...]:
        """The attributes the stream's search asks for (besides the change marker)."""
        raise NotImplementedError

    def record(self, entry: Entry, state: RunState) -> CanonicalRecord:
        """Map one entry to its canonical record."""
        raise NotImplementedError

    def search_since(self, state: RunState, since: str | None) -> str | None:
        """The cursor value the server-side filter uses (None: read the whole base)."""
        return since

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """Yield pages of records; the last page carries the cursor to save."""
        state = await self.ldap.run_state(context)
        tracker = state.tracker
        since = tracker.since(context.cursor) if context.mode == "incremental" else None
        held: Page | None = None
        async for entries in self._search(state, since).pages(self.ldap.client):
            if held is not None:
                yield held
            held = Page([self._map(entry, state) for entry in entries])
        final = held or Page([])
        final.cursor = tracker.cursor()
        yield final

    def _search(self, state: RunState, since: str | None) -> PagedSearch:
        config = self.ldap.config
        base_filter = config.search_filter(self.kind, state.flavor)
        return PagedSearch(
            config.search_base(self.kind),
            state.tracker.filter(base_filter, self.search_since(state, since)),
            (*ID_ATTRIBUTES, *self.attributes(), state.tracker.attribute),
            config.page_size,
        )

    def _map(self, entry: Entry, state: RunState) -> CanonicalRecord:
        try:
            return self.record(entry, state)
        except ValidationError as err:
            fields = ", ".join(str(error["loc"][0]) for error in err.errors() if error["loc"])
            raise FatalSourceError(
                f"{entry.dn} does not map to a {self.record_model.__name__} ({fields})",
                code="ldap_bad_entry",
            ) from err


class UsersStream(LdapStream):
    """Users → CanonicalUser, with manager and transitive group keys resolved."""

    name: ClassVar[str] = "users"
    kind: ClassVar[str] = "users"
    record_model: ClassVar[type[CanonicalRecord]] = CanonicalUser

    def attributes(self) -> tuple[str, ...]:
        """User attributes from the configured mapping plus the fixed AD ones."""
        return user_attribute_names(self.ldap.config.user_attributes)

    def search_since(self, state: RunState, since: str | None) -> str | None:
        """Read every user when a group changed: any user's groups may have changed."""
        return None if state.index.any_group_changed(state.tracker, since) else since

    def record(self, entry: Entry, state: RunState) -> CanonicalRecord:
        """The user with manager key and transitive group keys."""
        groups = state.index.transitive_groups(entry.dn, entry.texts("memberOf"))
        return user_record(
            entry, self.ldap.config.user_attributes, manager_key=state.index.user_key, groups=groups
        )


class GroupsStream(LdapStream):
    """Groups → CanonicalGroup with direct user members and direct nested groups."""

    name: ClassVar[str] = "groups"
    kind: ClassVar[str] = "groups"
    record_model: ClassVar[type[CanonicalRecord]] = CanonicalGroup

    def attributes(self) -> tuple[str, ...]:
        """Group name, key, description and members."""
        return (*GROUP_ATTRIBUTES, self.ldap.config.group_key_attribute)

    def record(self, entry: Entry, state: RunState) -> CanonicalRecord:
        """The group with its member DNs resolved to user and group keys."""
        users, nested = state.index.classify(entry.texts("member"))
        return group_record(
            entry, self.ldap.config.group_key_attribute, members=users, member_groups=nested
        )


class ComputersStream(LdapStream):
    """Computer objects → CanonicalDevice (hostname, OS, OU, last logon)."""

    name: ClassVar[str] = "computers"
    kind: ClassVar[str] = "computers"
    record_model: ClassVar[type[CanonicalRecord]] = CanonicalDevice

    def attributes(self) -> tuple[str, ...]:
        """Computer attributes."""
        return COMPUTER_ATTRIBUTES

    def record(self, entry: Entry, state: RunState) -> CanonicalRecord:
        """The device."""
        return device_record(entry)
