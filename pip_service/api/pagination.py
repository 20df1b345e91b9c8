"""Keyset pagination used by every list: ``limit`` + ``cursor``, and a ``next`` link.

Lists are newest first (descending id). ``cursor`` is opaque to clients: take
it from the previous page's ``next`` link, which is absent on the last page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")
RowT = TypeVar("RowT")

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page (1-500)")]
Cursor = Annotated[
    int | None,
    Query(ge=1, le=2**62, description="Opaque position, taken from the previous page's `next`"),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next`` is the URL of the following page, if any."""

    items: list[T]
    next: str | None = None


async def fetch_page(
    session: AsyncSession,
    query: Select[RowT],
    id_column: InstrumentedAttribute[int],
    *,
    limit: int,
    cursor: int | None,
) -> tuple[list[RowT], int | None]:
    """Rows of one page (newest first) and the cursor of the next page, if there is one."""
    query = query.order_by(id_column.desc()).limit(limit + 1)
    if cursor is not None:
        query = query.where(id_column < cursor)
    rows = list(await session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, int(getattr(rows[-1], id_column.key))


def make_page(
    request: Request, items: Sequence[Any], next_cursor: int | None, convert: Callable[[Any], T]
) -> Page[T]:
    """A ``Page`` with the ``next`` link built from the current URL."""
    link = None
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        link = f"{url.path}?{url.query}"
    return Page[T](items=[convert(item) for item in items], next=link)
