"""Paginators over recorded responses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.base.errors import FatalSourceError
from connectors.base.paginators import (
    CursorTokenPaginator,
    DeltaLinkPaginator,
    JsonNextLinkPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    json_get,
)

BASE = "https://api.example/v1/items"


def response(url: str = BASE, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, headers=headers, request=httpx.Request("GET", url))


def test_link_header_follows_next_until_absent() -> None:
    paginator = LinkHeaderPaginator()
    links = f'<{BASE}?after=1>; rel="next", <{BASE}>; rel="self"'
    paginator.advance(response(headers={"Link": links}), {}, [1])
    assert not paginator.finished
    assert paginator.next_request().url == f"{BASE}?after=1"
    paginator.advance(response(f"{BASE}?after=1", {"Link": f'<{BASE}>; rel="first"'}), {}, [2])
    assert paginator.finished and paginator.pages == 2


def test_link_header_relative_next_is_made_absolute() -> None:
    paginator = LinkHeaderPaginator()
    paginator.advance(response(headers={"Link": '</v1/items?page=2>;rel="next"'}), {}, [1])
    assert paginator.next_request().url == "https://api.example/v1/items?page=2"


def test_link_header_loop_is_refused() -> None:
    paginator = LinkHeaderPaginator()
    with pytest.raises(FatalSourceError, match="same next page twice"):
        paginator.advance(response(headers={"Link": f'<{BASE}>; rel="next"'}), {}, [1])


def test_offset_stops_on_short_page_and_on_reported_total() -> None:
    paginator = OffsetPaginator(2, offset_param="sysparm_offset", limit_param="sysparm_limit")
    assert paginator.first_request().params == {"sysparm_offset": 0, "sysparm_limit": 2}
    paginator.advance(response(), {}, [1, 2])
    assert paginator.next_request().params["sysparm_offset"] == 2
    paginator.advance(response(), {}, [3])
    assert paginator.finished
    totalled = OffsetPaginator(2, total_header="X-Total-Count")
    totalled.advance(response(headers={"X-Total-Count": "2"}), {}, [1, 2])
    assert totalled.finished


def test_page_number_stops_on_short_page_or_last_flag() -> None:
    paginator = PageNumberPaginator(2, last_page_path="isLast")
    assert paginator.first_request().params == {"page": 1, "per_page": 2}
    paginator.advance(response(), {"isLast": False}, [1, 2])
    assert paginator.next_request().params["page"] == 2
    paginator.advance(response(), {"isLast": True}, [3, 4])
    assert paginator.finished
    short = PageNumberPaginator(2)
    short.advance(response(), {}, [1])
    assert short.finished


def test_cursor_token_is_sent_back_and_repeats_are_refused() -> None:
    paginator = CursorTokenPaginator("meta.next", "cursor")
    paginator.advance(response(), {"meta": {"next": "abc"}}, [1])
    assert paginator.next_request().params == {"cursor": "abc"}
    with pytest.raises(FatalSourceError):
        paginator.advance(response(), {"meta": {"next": "abc"}}, [2])
    last = CursorTokenPaginator()
    last.advance(response(), {"nextPageToken": ""}, [1])
    assert last.finished


def test_json_next_link_follows_odata_next_link() -> None:
    paginator = JsonNextLinkPaginator()
    paginator.advance(response(), {"@odata.nextLink": f"{BASE}?$skiptoken=x"}, [1])
    assert paginator.next_request().url == f"{BASE}?$skiptoken=x"
    paginator.advance(response(f"{BASE}?$skiptoken=x"), {"value": []}, [])
    assert paginator.finished and paginator.cursor() is None


def test_delta_link_becomes_the_cursor_on_the_last_page() -> None:
    paginator = DeltaLinkPaginator()
    paginator.advance(response(), {"@odata.nextLink": f"{BASE}?$skiptoken=1"}, [1])
    assert paginator.cursor() is None
    paginator.advance(response(f"{BASE}?$skiptoken=1"), {"@odata.deltaLink": f"{BASE}?d=9"}, [2])
    assert paginator.finished and paginator.cursor() == {"delta_link": f"{BASE}?d=9"}


def test_delta_round_without_delta_link_is_fatal() -> None:
    with pytest.raises(FatalSourceError, match="without a delta link"):
        DeltaLinkPaginator().advance(response(), {"value": []}, [])


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"result": [1]}, "result", [1]),
        ({"a": {"b": {"c": 3}}}, "a.b.c", 3),
        ({"@odata.nextLink": "u"}, "@odata.nextLink", "u"),
        ({"data": {"@odata.count": 4}}, "data.@odata.count", 4),
        ({"a": 1}, "a.b", None),
        ([1, 2], "", [1, 2]),
    ],
)
def test_json_get_reads_dotted_paths(data: Any, path: str, expected: Any) -> None:
    assert json_get(data, path) == expected
