"""Auth0 users-export jobs: create, poll, download the gzipped NDJSON file.

Follows "Bulk User Exports" (auth0.com/docs/manage-users/user-migration/bulk-user-exports)
and the Jobs endpoints of the Management API v2: ``POST /api/v2/jobs/users-exports``
with ``{"format": "json", "fields": [{"name": ...}]}`` answers a job ``{"id",
"status": "pending"}``; ``GET /api/v2/jobs/{id}`` reports ``pending``,
``processing``, ``completed`` (with ``location``, a pre-signed download URL on
another host) or ``failed``, and may carry ``time_left_seconds``. The file is
gzip-compressed, one JSON user per line. The download URL already carries its
own authorization, so the Management API token is never sent there.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx
import orjson

from connectors.base.errors import FatalSourceError, TransientSourceError
from connectors.base.http import SourceClient, decode_json

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
FIRST_POLL = 2.0
MAX_POLL = 30.0
CHUNK = 64 * 1024


@runtime_checkable
class ExportHost(Protocol):
    """What an export needs from its connector: a way to wait, a client without credentials."""

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (the injected sleep in tests)."""

    def download_client(self) -> httpx.AsyncClient:
        """The plain httpx client (no Management API token) for the pre-signed URL."""


async def start_export(client: SourceClient, base_url: str, fields: tuple[str, ...]) -> str:
    """Create a users-export job for the whole tenant; its id."""
    payload = {"format": "json", "fields": [{"name": name} for name in fields]}
    response = await client.request("POST", f"{base_url}/api/v2/jobs/users-exports", json=payload)
    job = decode_json(client.source, response)
    job_id = job.get("id") if isinstance(job, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise FatalSourceError(f"{client.source} answered the export request without a job id")
    logger.info("%s users-export job %s created", client.source, job_id)
    return job_id


async def wait_for_export(
    client: SourceClient, base_url: str, job_id: str, *, sleep: Sleep, limit: float
) -> str:
    """Poll the job until it completes; the download location."""
    waited, delay = 0.0, FIRST_POLL
    while waited < limit:
        await sleep(delay)
        waited += delay
        job = (await client.get_json(f"{base_url}/api/v2/jobs/{job_id}")).body
        status = job.get("status") if isinstance(job, dict) else None
        if status == "completed":
            return _location(client.source, job_id, job)
        if status == "failed":
            raise FatalSourceError(f"{client.source} users-export job {job_id} failed")
        if status not in ("pending", "processing"):
            raise FatalSourceError(f"{client.source} reported job {job_id} in no known status")
        delay = _next_delay(job)
    raise TransientSourceError(
        f"{client.source} users-export job {job_id} did not finish in {int(limit)} s"
    )


def _location(source: str, job_id: str, job: dict[str, Any]) -> str:
    location = job.get("location")
    if not isinstance(location, str) or not location.startswith(("https://", "http://")):
        raise FatalSourceError(f"{source} completed job {job_id} without a download location")
    return location


def _next_delay(job: dict[str, Any]) -> float:
    left = job.get("time_left_seconds")
    if isinstance(left, int | float) and left > 0:
        return float(min(max(left, 1.0), MAX_POLL))
    return FIRST_POLL


async def export_rows(
    http: httpx.AsyncClient, url: str, source: str
) -> AsyncIterator[dict[str, Any]]:
    """Stream the export file: gunzip as it arrives and yield one user per line."""
    lines = _Lines(source)
    try:
        async with http.stream("GET", url, headers={"Accept": "*/*"}) as response:
            await _check(response, source)
            async for chunk in response.aiter_raw(CHUNK):
                for row in lines.feed(chunk):
                    yield row
        for row in lines.finish():
            yield row
    except httpx.TransportError as err:
        raise TransientSourceError(
            f"{source} users-export download broke off ({type(err).__name__})"
        ) from err


async def _check(response: httpx.Response, source: str) -> None:
    if response.status_code < 300:
        return
    await response.aread()
    message = f"{source} users-export download failed (HTTP {response.status_code})"
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSourceError(message, status_code=response.status_code)
    raise FatalSourceError(message, status_code=response.status_code)


class _Lines:
    """Incremental gunzip + newline splitting + JSON decoding of the export file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._decoder = zlib.decompressobj(wbits=31)
        self._rest = b""
        self.count = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """Rows completed by ``chunk``."""
        try:
            data = self._rest + self._decoder.decompress(chunk)
        except zlib.error as err:
            raise FatalSourceError(f"{self.source} users-export file is not gzip data") from err
        *complete, self._rest = data.split(b"\n")
        return [self._row(line) for line in complete if line.strip()]

    def finish(self) -> list[dict[str, Any]]:
        """The rows left when the download ended."""
        if not self._decoder.eof:
            raise FatalSourceError(f"{self.source} users-export file is truncated or not gzip")
        rest, self._rest = self._rest + self._decoder.flush(), b""
        return [self._row(line) for line in rest.split(b"\n") if line.strip()]

    def _row(self, line: bytes) -> dict[str, Any]:
        self.count += 1
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise FatalSourceError(
                f"{self.source} users-export file line {self.count} is not JSON"
            ) from err
        if not isinstance(row, dict):
            raise FatalSourceError(f"{self.source} export file line {self.count} is not a user")
        return row
