"""Signed webhooks from ServiceNow business rules (the generic HMAC scheme).

A business rule (or Flow action) on ``cmdb_ci_computer`` or ``change_request``
sends ``POST /webhooks/{connection_id}`` with ``X-Timestamp: <unix seconds>`` and
``X-Signature: sha256=<hex HMAC-SHA256(webhook_secret, timestamp + "." + body)>``
and a body ``{"id", "stream": "computers"|"changes", "source_id": <sys_id>,
"action": "upsert"|"delete"}`` (or ``{"events": [...]}``). Without a signed
``record`` the object is read again by sys_id through the Table API
(``sysparm_query=sys_idIN<sys_id>``), with the same fields and mapping as a sync;
a change comes back with its affected CIs and approvals.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base.canonical import CanonicalRecord
from connectors.base.webhooks import (
    FetchUnsupportedError,
    HmacWebhooks,
    ObjectChange,
    WebhookEvent,
)
from connectors.servicenow.changes import ChangesStream, _Marks
from connectors.servicenow.paging import read_table
from connectors.servicenow.streams import ComputersStream


class ServiceNowWebhooks(HmacWebhooks):
    """HMAC-signed events about CIs and change requests, refreshed by sys_id."""

    webhook_provider: ClassVar[str] = "servicenow"

    async def fetch_object(self, event: WebhookEvent) -> ObjectChange:
        """The signed record, else the CI or change as ServiceNow has it now (None: gone)."""
        assert event.stream is not None and event.source_id is not None
        if event.removed or event.record is not None:
            return ObjectChange(event.stream, event.source_id, event.record)
        stream = self._stream(event.stream)
        if isinstance(stream, ComputersStream):
            record = await _computer(stream, event.source_id)
        elif isinstance(stream, ChangesStream):
            record = await _change(stream, event.source_id)
        else:
            raise FetchUnsupportedError(f"No single-record read for stream {event.stream!r}")
        return ObjectChange(event.stream, event.source_id, record)

    def _stream(self, name: str) -> Any:
        for stream in self.get_streams():  # type: ignore[attr-defined]
            if stream.name == name:
                return stream
        raise FetchUnsupportedError(f"The connection does not read stream {name!r}")


async def _computer(stream: ComputersStream, sys_id: str) -> CanonicalRecord | None:
    """The CI from the first configured CMDB table that has it."""
    client = stream.rest_connector.source_client
    for table in stream.partitions():
        url = f"{stream.config.base_url}/api/now/table/{table}"
        async for raws in read_table(
            client, url, fields=stream.fields, base=f"sys_idIN{sys_id}", page_size=1
        ):
            for raw in raws:
                return stream.normalize(raw)
    return None


async def _change(stream: ChangesStream, sys_id: str) -> CanonicalRecord | None:
    """The change request with its affected CIs and approvals."""
    async for page in stream._reread([sys_id], _Marks()):
        for record in page.records:
            return record
    return None
