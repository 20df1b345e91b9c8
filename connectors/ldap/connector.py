"""LdapConnector: users, groups and computers from Active Directory or OpenLDAP."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from connectors.base.connector import ConnectionTestResult, Connector
from connectors.base.errors import PipError
from connectors.base.stream import Stream, SyncContext
from connectors.base.types import Category
from connectors.ldap.client import PAGED_RESULTS_OID, LdapClient
from connectors.ldap.config import Flavor, LdapConfig
from connectors.ldap.cursor import ChangeTracker
from connectors.ldap.directory import DirectoryIndex, build_index
from connectors.ldap.entry import Entry
from connectors.ldap.streams import ComputersStream, GroupsStream, UsersStream

logger = logging.getLogger(__name__)

AD_CAPABILITY_OID = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID
STREAM_KINDS = ("users", "groups", "computers")


@dataclass
class RunState:
    """What the streams of one run share: flavor, change tracking, the DN index."""

    started_at: datetime
    flavor: Flavor
    tracker: ChangeTracker
    index: DirectoryIndex
    memo: dict[Any, Any] = field(default_factory=dict)


class LdapConnector(Connector[LdapConfig]):
    """Reads an LDAP directory (AD or OpenLDAP) over one bound connection."""

    slug: ClassVar[str] = "ldap"
    title: ClassVar[str] = "LDAP / Active Directory"
    category: ClassVar[Category] = Category.IDENTITY
    config_model: ClassVar[type[BaseModel]] = LdapConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream, GroupsStream, ComputersStream)

    def __init__(self, config: LdapConfig, *, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config, http_client=http_client)
        self.client = LdapClient(config)
        self._state: RunState | None = None
        self._state_lock = asyncio.Lock()

    async def run_state(self, context: SyncContext) -> RunState:
        """The run's shared state, built once per run (keyed by its start time)."""
        async with self._state_lock:
            if self._state is None or self._state.started_at != context.started_at:
                self._state = await self._new_state(context.started_at)
            return self._state

    async def detect_flavor(self, root_dse: Entry) -> Flavor:
        """The configured flavor, else AD when the root DSE says so, else OpenLDAP."""
        configured = self.config.directory_flavor
        if configured != "auto":
            return configured
        is_ad = AD_CAPABILITY_OID in root_dse.texts("supportedCapabilities")
        return "active_directory" if is_ad else "openldap"

    async def test_connection(self) -> ConnectionTestResult:
        """Bind, read the root DSE and search each base; report each check."""
        began = time.perf_counter()
        checked: list[str] = []
        try:
            await self._check_all(checked)
        except PipError as err:
            return ConnectionTestResult(
                ok=False,
                message=err.message,
                error_code=err.code,
                latency_ms=_ms_since(began),
                checked=checked,
            )
        return ConnectionTestResult(
            ok=True,
            message=f"Connected to {self.client.target} and read every search base",
            latency_ms=_ms_since(began),
            checked=checked,
        )

    async def aclose(self) -> None:
        """Unbind from the directory."""
        await asyncio.to_thread(self.client.close)

    async def _new_state(self, started_at: datetime) -> RunState:
        root_dse = await asyncio.to_thread(self.client.root_dse)
        flavor = await self.detect_flavor(root_dse)
        tracker = self._tracker(flavor, root_dse, started_at)
        index = await build_index(self.client, self.config, flavor, tracker)
        logger.info(
            "indexed %d users and %d groups at %s (%s)",
            len(index.user_keys),
            len(index.groups),
            self.client.target,
            flavor,
        )
        return RunState(started_at, flavor, tracker, index)

    def _tracker(self, flavor: Flavor, root_dse: Entry, started_at: datetime) -> ChangeTracker:
        usn = root_dse.integer("highestCommittedUSN")
        if flavor == "active_directory" and usn is not None:
            return ChangeTracker.by_usn(usn, root_dse.text("dsServiceName"))
        return ChangeTracker.by_timestamp(started_at, self.config.cursor_overlap_seconds)

    async def _check_all(self, checked: list[str]) -> None:
        await asyncio.to_thread(self.client.open)
        checked.append(f"bind as {self.config.bind_dn or 'anonymous'}")
        root_dse = await asyncio.to_thread(self.client.root_dse)
        flavor = await self.detect_flavor(root_dse)
        paged = PAGED_RESULTS_OID in root_dse.texts("supportedControl")
        checked.append(f"root DSE: {flavor}, paged results {'on' if paged else 'OFF'}")
        for kind in STREAM_KINDS:
            checked.append(await self._check_base(kind, flavor))

    async def _check_base(self, kind: str, flavor: Flavor) -> str:
        base = self.config.search_base(kind)
        page = await asyncio.to_thread(
            self.client.search_page, base, self.config.search_filter(kind, flavor), ("1.1",), 1, b""
        )
        found = "at least 1 entry" if page.entries else "no entries"
        return f"{kind}: search of {base} succeeded ({found})"


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)
