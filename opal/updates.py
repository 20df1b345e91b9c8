"""DataUpdates the PIP publishes to the OPAL server (``POST /data/config``).

A large change travels as a refetch of the document's URL; a small one inline as
a JSON Patch (``save_method: PATCH``, paths relative to the entry's ``dst_path``).
Either way the only header in an entry is the PIP's own OPAL read token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from opal.datasources import document_url, dst_path_for, fetch_config, topic_for
from opal.models import DataSourceEntry, DataUpdate, JSONPatchAction, UpdateCallback


def refetch_entry(name: str, *, public_url: str, read_token: str) -> DataSourceEntry:
    """An entry telling clients to fetch the whole document again."""
    return DataSourceEntry(
        url=document_url(public_url, name),
        config=fetch_config(read_token),
        topics=[topic_for(name)],
        dst_path=dst_path_for(name),
        save_method="PUT",
    )


def patch_entry(
    name: str, operations: Sequence[JSONPatchAction | dict[str, Any]]
) -> DataSourceEntry:
    """An entry carrying a JSON Patch inline (no fetch: OPAL wants ``url`` all the same)."""
    actions = [JSONPatchAction.model_validate(op) for op in operations]
    return DataSourceEntry(
        url="",
        topics=[topic_for(name)],
        dst_path=dst_path_for(name),
        save_method="PATCH",
        data=[op.model_dump(mode="json", by_alias=True, exclude_none=True) for op in actions],
    )


def data_update(
    entries: Iterable[DataSourceEntry],
    *,
    reason: str,
    callbacks: Sequence[str] = (),
    update_id: str | None = None,
) -> DataUpdate:
    """A DataUpdate with an id (for delivery reports) and optional callback URLs."""
    return DataUpdate(
        id=update_id or uuid.uuid4().hex,
        entries=list(entries),
        reason=reason,
        callback=UpdateCallback(callbacks=list(callbacks)),
    )
