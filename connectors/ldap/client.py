"""A small synchronous LDAP client over ldap3: connect, TLS, bind, root DSE, paged search.

ldap3 is synchronous; the streams call this client through ``asyncio.to_thread``.
Every ldap3 exception leaves here translated by ``connectors.ldap.errors``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap3

from connectors.base.errors import ConfigError, TransientSourceError
from connectors.ldap.config import LdapConfig
from connectors.ldap.entry import Entry
from connectors.ldap.errors import translate
from connectors.ldap.tls import build_tls

logger = logging.getLogger(__name__)

PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
ROOT_DSE_ATTRIBUTES = [
    "namingContexts",
    "defaultNamingContext",
    "supportedControl",
    "supportedCapabilities",
    "supportedLDAPVersion",
    "highestCommittedUSN",
    "currentTime",
    "vendorName",
    "vendorVersion",
    "objectClass",
    "structuralObjectClass",
]
T = TypeVar("T")


@dataclass(frozen=True)
class SearchPage:
    """One page of a paged search and the cookie for the next (empty: the last page)."""

    entries: list[Entry]
    cookie: bytes


class LdapClient:
    """One bound connection to the directory; thread-safe, one operation at a time."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self.target = f"{config.host}:{config.port}"
        self._conn: ldap3.Connection | None = None
        self._lock = threading.RLock()  # ldap3's SYNC strategy: one operation at a time

    def open(self) -> None:
        """Connect, start TLS when configured and bind; a no-op when already bound."""
        with self._lock:
            if self._conn is None:
                who = self.config.bind_dn or "anonymous"
                self._conn = self._call(self._connect, target=f"{self.target} (bind as {who})")

    def close(self) -> None:
        """Unbind and drop the connection."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            _quietly_unbind(conn)

    def root_dse(self) -> Entry:
        """The root DSE: naming contexts, controls, capabilities, vendor."""
        entries = self._search("", "(objectClass=*)", ROOT_DSE_ATTRIBUTES, scope=ldap3.BASE)
        return entries[0] if entries else Entry("", {})

    def search_page(
        self, base: str, search_filter: str, attributes: Sequence[str], size: int, cookie: bytes
    ) -> SearchPage:
        """One page of a subtree search with the RFC 2696 simple paged results control."""
        response, result = self._run(
            base, search_filter, attributes, ldap3.SUBTREE, paged_size=size, paged_cookie=cookie
        )
        control = result.get("controls", {}).get(PAGED_RESULTS_OID)
        next_cookie = control["value"]["cookie"] if control else b""
        return SearchPage(_entries(response), next_cookie or b"")

    def search_one(self, dn: str, attributes: Sequence[str]) -> Entry | None:
        """Read one entry by DN (None when it does not exist)."""
        try:
            entries = self._search(dn, "(objectClass=*)", attributes, scope=ldap3.BASE)
        except ConfigError as err:
            if err.code == "ldap_no_such_base":
                return None
            raise
        return entries[0] if entries else None

    def _search(
        self, base: str, search_filter: str, attributes: Sequence[str], *, scope: str
    ) -> list[Entry]:
        response, _ = self._run(base, search_filter, attributes, scope)
        return _entries(response)

    def _run(
        self, base: str, search_filter: str, attributes: Sequence[str], scope: str, **kw: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        target = f"search base {base!r} on {self.target}" if base else self.target
        with self._lock:
            conn = self._bound()
            self._call(
                lambda: conn.search(base, search_filter, scope, attributes=list(attributes), **kw),
                target=target,
            )
            return conn.response or [], conn.result or {}

    def _bound(self) -> ldap3.Connection:
        self.open()
        conn = self._conn
        if conn is None:
            raise TransientSourceError(f"LDAP connection to {self.target} was closed")
        return conn

    def _call(self, operation: Callable[[], T], *, target: str) -> T:
        try:
            return operation()
        except Exception as err:
            self._drop_after(err)
            raise translate(err, target=target) from err

    def _drop_after(self, err: Exception) -> None:
        if isinstance(err, ldap3.core.exceptions.LDAPCommunicationError):
            self._conn = None

    def _connect(self) -> ldap3.Connection:
        conn = _connection(self.config)
        try:
            conn.open()
            if self.config.start_tls:
                conn.start_tls()
            conn.bind()
        except Exception:
            _quietly_unbind(conn)
            raise
        finally:
            conn.password = None  # nothing keeps the secret after the bind
        logger.info("bound to %s as %s", self.target, self.config.bind_dn or "anonymous")
        return conn


def _connection(config: LdapConfig) -> ldap3.Connection:
    server = ldap3.Server(
        config.host,
        port=config.port,
        use_ssl=config.uses_ldaps,
        tls=build_tls(config),
        get_info=ldap3.NONE,
        connect_timeout=config.timeout_seconds,
    )
    password = config.bind_password.get_secret_value() if config.bind_password else None
    return ldap3.Connection(
        server,
        user=config.bind_dn or None,
        password=password if config.bind_dn else None,
        authentication=ldap3.SIMPLE if config.bind_dn else ldap3.ANONYMOUS,
        client_strategy=ldap3.SYNC,  # SAFE_SYNC copies every response: 2.4x slower
        raise_exceptions=True,
        read_only=True,
        receive_timeout=max(1, int(config.timeout_seconds)),
        auto_range=True,
    )


def _entries(response: list[dict[str, Any]]) -> list[Entry]:
    return [
        Entry.from_response(item["dn"], item.get("raw_attributes") or {})
        for item in response
        if item.get("type") == "searchResEntry"
    ]


def _quietly_unbind(conn: ldap3.Connection) -> None:
    try:
        conn.unbind()
    except Exception as err:  # closing a broken connection: nothing to recover
        logger.debug("unbind failed: %s", type(err).__name__)
