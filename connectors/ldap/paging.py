"""RFC 2696 simple paged results: a paginator and a paged search that yields pages.

The server hands back an opaque cookie with every page; an empty cookie means
the last page. A search given up half-way is abandoned with a page size of 0,
so the server can free what it keeps for the search.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from connectors.base.errors import PipError
from connectors.ldap.client import LdapClient
from connectors.ldap.entry import Entry

logger = logging.getLogger(__name__)


@dataclass
class PagedResultsPaginator:
    """The cookie state of one paged search (has_more / get_next / advance)."""

    cookie: bytes = b""
    pages_read: int = 0

    def has_more(self) -> bool:
        """Whether another page should be requested."""
        return self.pages_read == 0 or bool(self.cookie)

    def get_next(self) -> bytes:
        """The cookie to send with the next request (empty for the first page)."""
        return self.cookie

    def advance(self, cookie: bytes) -> None:
        """Record the cookie the server returned with a page."""
        self.pages_read += 1
        self.cookie = cookie


@dataclass(frozen=True)
class PagedSearch:
    """A subtree search read page by page in a worker thread."""

    base: str
    search_filter: str
    attributes: tuple[str, ...]
    page_size: int
    paginator: PagedResultsPaginator = field(default_factory=PagedResultsPaginator)

    async def pages(self, client: LdapClient) -> AsyncIterator[list[Entry]]:
        """Yield the entries of each page until the server's cookie is empty."""
        paginator = self.paginator
        try:
            while paginator.has_more():
                page = await asyncio.to_thread(
                    client.search_page,
                    self.base,
                    self.search_filter,
                    self.attributes,
                    self.page_size,
                    paginator.get_next(),
                )
                paginator.advance(page.cookie)
                yield page.entries
        finally:
            if paginator.cookie:
                await self._abandon(client, paginator.cookie)

    async def entries(self, client: LdapClient) -> AsyncIterator[Entry]:
        """Every entry of the search, one at a time."""
        async for page in self.pages(client):
            for entry in page:
                yield entry

    async def _abandon(self, client: LdapClient, cookie: bytes) -> None:
        try:
            await asyncio.to_thread(
                client.search_page, self.base, self.search_filter, ("1.1",), 0, cookie
            )
        except PipError as err:
            logger.debug("abandoning a paged search failed: %s", err.code)
