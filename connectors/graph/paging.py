"""Reading Microsoft Graph collections: ``@odata.nextLink`` pages and delta rounds.

Follows "Paging Microsoft Graph data in your app" (learn.microsoft.com/graph/paging)
and "Use delta query to track changes in Microsoft Graph data"
(learn.microsoft.com/graph/delta-query-overview):

- a collection answers ``{"value": [...], "@odata.nextLink": url}``; the next
  link is followed as is (it already carries ``$top``, ``$select``, the skip token);
- a delta round follows ``@odata.nextLink`` until a page carries
  ``@odata.deltaLink``, which starts the next round; removed objects are
  ``{"id": ..., "@removed": {"reason": "changed" | "deleted"}}``;
- ``$deltatoken=latest`` returns only a delta link ("sync from now").

Next and delta links are only followed to the configured Graph host, so the
bearer token is never sent anywhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base.errors import FatalSourceError
from connectors.base.http import SourceClient
from connectors.base.paginators import DeltaLinkPaginator, JsonNextLinkPaginator, Paginator

Raw = dict[str, Any]


@dataclass
class DeltaPage:
    """One page of a delta round: changed objects, removed ids, and the delta link at the end."""

    changed: list[Raw] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    delta_link: str | None = None


class GraphReader:
    """Pages of one Graph host through a SourceClient."""

    def __init__(self, client: SourceClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)

    def url(self, path: str) -> str:
        """Absolute URL of an API path (``users``, ``groups/{id}/members``)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    async def pages(
        self, path: str, params: Mapping[str, Any]
    ) -> AsyncIterator[tuple[list[Raw], bool]]:
        """Each page of a collection as (objects, is_last)."""
        async for body, paginator in self._walk(self.url(path), params, JsonNextLinkPaginator()):
            yield values(body, path), paginator.finished

    async def all(self, path: str, params: Mapping[str, Any]) -> list[Raw]:
        """Every object of a (small) collection."""
        found: list[Raw] = []
        async for objects, _last in self.pages(path, params):
            found.extend(objects)
        return found

    async def latest_delta_link(self, path: str, params: Mapping[str, Any]) -> str:
        """A delta link that reports changes from now on, without reading the objects."""
        latest = {**params, "$deltatoken": "latest"}
        body = (await self.client.get_json(self.url(path), params=latest)).body
        link = body.get("@odata.deltaLink") if isinstance(body, dict) else None
        if not isinstance(link, str) or not link:
            raise FatalSourceError(f"{self.client.source} answered {path} without a delta link")
        self.check_origin(link)
        return link

    async def delta(self, link: str) -> AsyncIterator[DeltaPage]:
        """The pages of one delta round from a saved delta link; the last carries the new link."""
        self.check_origin(link)
        paginator = DeltaLinkPaginator()
        async for body, _ in self._walk(link, None, paginator):
            page = DeltaPage()
            for raw in values(body, "delta"):
                if "@removed" in raw:
                    page.removed.append(object_id(raw, "delta"))
                else:
                    page.changed.append(raw)
            if paginator.finished:
                cursor = paginator.cursor() or {}
                page.delta_link = cursor.get("delta_link")
            yield page

    async def _walk(
        self, url: str, params: Mapping[str, Any] | None, paginator: Paginator
    ) -> AsyncIterator[tuple[Any, Paginator]]:
        while True:
            fetched = await self.client.get_json(url, params=params)
            body = fetched.body
            paginator.advance(fetched.response, body, values(body, url))
            yield body, paginator
            if paginator.finished:
                return
            url, params = str(paginator.next_request().url), None
            self.check_origin(url)

    def check_origin(self, url: str) -> None:
        """FatalSourceError when a link points to another host than the configured one."""
        if _origin(url) != self._origin:
            raise FatalSourceError(
                f"{self.client.source} sent a link to another host ({httpx.URL(url).host}); "
                "refusing to send credentials there"
            )


def values(body: Any, what: str) -> list[Raw]:
    """The ``value`` list of a collection response; FatalSourceError when it is missing."""
    found = body.get("value") if isinstance(body, dict) else None
    if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
        raise FatalSourceError(
            f"Microsoft Graph answered {_path(what)} without a 'value' list of objects"
        )
    return found


def object_id(raw: Raw, what: str) -> str:
    """The ``id`` of a Graph object; FatalSourceError when it has none."""
    value = raw.get("id")
    if not isinstance(value, str) or not value:
        raise FatalSourceError(f"Microsoft Graph returned an object without an id ({what})")
    return value


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _path(what: str) -> str:
    return httpx.URL(what).path if "://" in what else what
