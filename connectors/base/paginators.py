"""Paginators: small generic classes that know how a source hands out the next page.

A paginator is created fresh for every run of a stream. The stream sends
``first_request()``, then after every page calls ``advance(response, body,
records)`` and, while ``finished`` is false, sends ``next_request()``.
A :class:`NextRequest` either carries an absolute ``url`` (next links, which
already hold every parameter) or ``params`` merged into the stream's own
request. ``cursor()`` lets a paginator hand a resume point to the stream
(Graph delta links).

Like meltano/sdk: Link header (Okta, ServiceNow), offset/limit (ServiceNow),
page number (Jamf, Freshservice), JSON next link or token (Graph, Google,
Jira), delta link (Graph). LDAP paged results live in ``connectors.ldap``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base.errors import FatalSourceError


@dataclass(frozen=True)
class NextRequest:
    """What to send for the next page: an absolute URL, or params to merge."""

    url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def json_get(data: Any, path: str) -> Any:
    """Value at a dotted path (``"a.b"``); keys that contain dots (``@odata.nextLink``) work."""
    if not path:
        return data
    if not isinstance(data, dict):
        return None
    if path in data:
        return data[path]
    head = path
    while "." in head:
        head = head.rsplit(".", 1)[0]
        if head in data:
            return json_get(data[head], path[len(head) + 1 :])
    return None


class Paginator(ABC):
    """Base of paginators: tracks whether more pages follow and how to ask for them."""

    def __init__(self) -> None:
        self.finished = False
        self.pages = 0

    def first_request(self) -> NextRequest:
        """The request for the first page (params added to the stream's request)."""
        return NextRequest()

    def advance(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        """Take in one page: count it and decide whether another follows."""
        self.pages += 1
        if not self.has_more(response, body, records):
            self.finished = True
            return
        self._step(response, body, records)

    @abstractmethod
    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """Whether the source has another page after this one.

        Args:
            response: the HTTP response of the page just read.
            body: its decoded JSON body.
            records: the raw records extracted from it.

        Returns:
            True when ``next_request()`` should be sent.
        """

    def _step(  # noqa: B027 - optional hook, most paginators need no step
        self, response: httpx.Response, body: Any, records: Sequence[Any]
    ) -> None:
        """Move to the next page (called only when ``has_more`` said so)."""

    @abstractmethod
    def next_request(self) -> NextRequest:
        """The request for the page after the one last advanced over."""

    def cursor(self) -> dict[str, Any] | None:
        """A resume point the source handed out (delta link), if any."""
        return None


class _NextUrlPaginator(Paginator):
    """Shared logic of paginators that follow absolute next URLs; refuses loops."""

    def __init__(self) -> None:
        super().__init__()
        self._next: str | None = None
        self._seen: set[str] = set()

    def _follow(self, response: httpx.Response, url: str) -> None:
        absolute = str(response.request.url.join(url))
        if absolute in self._seen or absolute == str(response.request.url):
            raise FatalSourceError(f"The source sent the same next page twice ({_path(absolute)})")
        self._seen.add(absolute)
        self._next = absolute

    def next_request(self) -> NextRequest:
        """The absolute URL of the next page."""
        return NextRequest(url=self._next)


class LinkHeaderPaginator(_NextUrlPaginator):
    """Follows RFC 8288 ``Link: <url>; rel="next"`` headers (Okta, ServiceNow, GitHub)."""

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """A ``rel="next"`` link is present."""
        return bool(response.links.get("next", {}).get("url"))

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        self._follow(response, response.links["next"]["url"])


class JsonNextLinkPaginator(_NextUrlPaginator):
    """Follows a next-page URL in the body, e.g. Graph's ``@odata.nextLink``."""

    def __init__(self, path: str = "@odata.nextLink") -> None:
        super().__init__()
        self.path = path

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """The body carries a next link."""
        return bool(json_get(body, self.path))

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        self._follow(response, str(json_get(body, self.path)))


class DeltaLinkPaginator(JsonNextLinkPaginator):
    """Graph delta queries: follow ``@odata.nextLink``; the last page's delta link is the cursor.

    The stream starts from the saved delta link (``cursor()["delta_link"]``) on
    incremental runs and from its own URL on full runs.
    """

    def __init__(
        self, next_path: str = "@odata.nextLink", delta_path: str = "@odata.deltaLink"
    ) -> None:
        super().__init__(next_path)
        self.delta_path = delta_path
        self._delta: str | None = None

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """More pages follow while there is a next link; the delta link ends the round."""
        delta = json_get(body, self.delta_path)
        if delta:
            self._delta = str(delta)
        more = super().has_more(response, body, records)
        if not more and not self._delta:
            raise FatalSourceError("The source ended a delta round without a delta link")
        return more

    def cursor(self) -> dict[str, Any] | None:
        """``{"delta_link": url}`` once the last page was read."""
        return {"delta_link": self._delta} if self._delta else None


class CursorTokenPaginator(Paginator):
    """An opaque token in the body sent back as a parameter (``nextPageToken``, ``cursor``)."""

    def __init__(self, path: str = "nextPageToken", param: str = "pageToken") -> None:
        super().__init__()
        self.path = path
        self.param = param
        self._token: str | None = None
        self._seen: set[str] = set()

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """The body carries a non-empty token."""
        return bool(json_get(body, self.path))

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        token = str(json_get(body, self.path))
        if token in self._seen:
            raise FatalSourceError("The source sent the same page token twice")
        self._seen.add(token)
        self._token = token

    def next_request(self) -> NextRequest:
        """The stream's request with the token parameter."""
        return NextRequest(params={self.param: self._token})


class OffsetPaginator(Paginator):
    """``offset``/``limit`` paging: a short page (or the reported total) ends it."""

    def __init__(
        self,
        limit: int,
        *,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total_header: str | None = None,
    ) -> None:
        super().__init__()
        self.limit = limit
        self.offset = 0
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.total_header = total_header

    def first_request(self) -> NextRequest:
        """Offset 0 with the page size."""
        return self.next_request()

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """A full page, and the reported total (when known) is not reached."""
        if len(records) < self.limit:
            return False
        total = response.headers.get(self.total_header) if self.total_header else None
        return total is None or not total.isdigit() or self.offset + len(records) < int(total)

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        self.offset += len(records)

    def next_request(self) -> NextRequest:
        """Params for the current offset."""
        return NextRequest(params={self.offset_param: self.offset, self.limit_param: self.limit})


class PageNumberPaginator(Paginator):
    """``page``/``per_page`` paging: a short page (or an ``is_last`` flag) ends it."""

    def __init__(
        self,
        page_size: int,
        *,
        start: int = 1,
        page_param: str = "page",
        size_param: str = "per_page",
        last_page_path: str | None = None,
    ) -> None:
        super().__init__()
        self.page_size = page_size
        self.page = start
        self.page_param = page_param
        self.size_param = size_param
        self.last_page_path = last_page_path

    def first_request(self) -> NextRequest:
        """The first page with the page size."""
        return self.next_request()

    def has_more(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> bool:
        """Not flagged as last, and the page was full."""
        if self.last_page_path and json_get(body, self.last_page_path) is True:
            return False
        return len(records) >= self.page_size

    def _step(self, response: httpx.Response, body: Any, records: Sequence[Any]) -> None:
        self.page += 1

    def next_request(self) -> NextRequest:
        """Params for the current page."""
        return NextRequest(params={self.page_param: self.page, self.size_param: self.page_size})


def _path(url: str) -> str:
    return httpx.URL(url).path
