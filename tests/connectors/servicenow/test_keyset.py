"""Keyset paging: a record updated mid-run no longer pushes another one out of reach."""

from __future__ import annotations

import random
from typing import Any

from connectors.base.paginators import LinkHeaderPaginator, Paginator
from connectors.base.stream import SyncContext
from connectors.base.testing import now
from connectors.servicenow.streams import ComputersStream
from tests.connectors.servicenow.harness import Harness
from tests.fakes.servicenow_query import Evaluator, Query, order_rows, parse


class OffsetComputers(ComputersStream):
    """The stream as it was: sysparm_offset paging by the Link header."""

    def new_paginator(self) -> Paginator:
        return LinkHeaderPaginator()


async def read_while_updating(servicenow: Harness, stream_class: type[ComputersStream]) -> set[str]:
    """Read every page; after the first, update a record that page returned."""
    seen: set[str] = set()
    async with servicenow.connect() as connector:
        stream = stream_class(connector)
        async for page in stream.pages(SyncContext(now())):
            if not seen:
                servicenow.fake.touch([page.records[0].source_id], os_version="mid-run")
            seen |= {record.source_id for record in page.records}
    return seen


async def test_record_updated_mid_run_skips_nothing(servicenow: Harness) -> None:
    servicenow.reset(23)
    assert await read_while_updating(servicenow, ComputersStream) == servicenow.source_ids()
    assert servicenow.fake.invalid_query_parts == []


async def test_offset_paging_would_have_skipped_a_record(servicenow: Harness) -> None:
    """The same run with the old offset paging loses one record: the test above can fail."""
    servicenow.reset(23)
    seen = await read_while_updating(servicenow, OffsetComputers)
    assert len(servicenow.source_ids() - seen) == 1


async def test_same_second_records_across_a_page_boundary_are_all_read(
    servicenow: Harness,
) -> None:
    servicenow.reset(12)
    ids = [row["sys_id"] for row in servicenow.fake.rows()]
    servicenow.fake.touch(ids, at=now().replace(microsecond=0))  # every record, one second
    run = await servicenow.read()
    assert sorted(run.ids) == sorted(ids) and len(run.cursors) == 3  # 5 + 5 + 2


def test_keyset_shortcut_of_the_fake_equals_plain_evaluation() -> None:
    rng = random.Random(5)
    rows = [
        {
            "sys_id": f"{rng.getrandbits(128):032x}",
            "sys_updated_on": f"2026-01-0{rng.randint(1, 3)}",
            "kind": rng.choice("ab"),
        }
        for _ in range(300)
    ]
    columns = {"sys_id", "sys_updated_on", "kind"}
    evaluator = Evaluator(rows)
    for pivot in rng.sample(rows, 20):
        stamp, key = pivot["sys_updated_on"], pivot["sys_id"]
        text = (
            f"kind=a^sys_updated_on>{stamp}^NQkind=a^sys_updated_on={stamp}^sys_id>{key}"
            "^ORDERBYsys_updated_on^ORDERBYsys_id"
        )
        parsed = parse(text, columns)
        assert evaluator.run(parsed) == plain(rows, parsed)
        assert evaluator.run(parsed) and parsed.invalid == []


def plain(rows: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    return order_rows([row for row in rows if query.matches(row)], query.order)
