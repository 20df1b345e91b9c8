"""Publishing document changes to the OPAL server (``POST /data/config``).

After a document gets a new revision, one DataUpdate goes to OPAL: an inline
JSON Patch (``save_method: PATCH``, whole entities, see ``opal.patches``) when
the change is at most ``PIP_OPAL_PATCH_MAX_BYTES``, else an entry that makes
every client refetch ``/opal/pip-data/<name>``. A second entry patches the
document's line of ``/pip/meta`` (revision, etag, freshness).

Ordering: per document, publications are serialized and always carry the
difference from the last *published* revision to the current one; an older
revision is never published after a newer one, and a failed POST leaves the
base where it was, so the next publication carries both changes. OPAL
clients apply the updates of one ``dst_path`` in arrival order. A client
that reports an entry it could not save (delivery callback) gets the whole
document again (``heal``). Entries carry no header but the PIP's own read
token; source credentials never reach OPAL.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from opal.datasources import DATA_ROUTE, topics_for
from opal.deliveries import OpalPublication
from opal.models import DataSourceEntry, DataUpdate, HttpFetcherConfig, UpdateCallback, to_wire
from opal.patches import changes_patch, document_patch, entity_path
from opal.updates import patch_entry, refetch_entry
from pip_service.config import Settings
from pip_service.db.session import transaction
from pip_service.documents.catalog import META, document_names
from pip_service.documents.deltas import Change
from pip_service.documents.schemas import ServedDocument

logger = logging.getLogger(__name__)

CALLBACK_ROUTE = "/opal/callbacks/updates"
PATCH, REFETCH = "patch", "refetch"
TOKEN_TTL_SECONDS = 86400


class Deltas(Protocol):
    """Known entity changes between two versions of a document."""

    def between(self, name: str, before: str, after: str) -> Mapping[str, Change] | None: ...


class Documents(Protocol):
    """What the publisher reads from the document service."""

    async def get(self, name: str) -> ServedDocument: ...

    async def meta(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class Publication:
    """One DataUpdate sent (or attempted)."""

    update_id: str
    document: str
    revision: int
    kind: str
    size: int
    ok: bool


@dataclass
class _Sent:
    revision: int
    etag: str
    body_gz: bytes


def first_read_token(settings: Settings) -> str | None:
    """The PIP's own OPAL read token (the first of ``PIP_OPAL_TOKENS``)."""
    value = settings.opal_tokens.get_secret_value() if settings.opal_tokens else ""
    return next((t.strip() for t in value.split(",") if t.strip()), None)


def _body(document: ServedDocument) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(gzip.decompress(document.body_gz))
    return data


class DatasourceTokens:
    """A datasource JWT: configured, or asked from ``POST /token`` with the master token."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client
        self._token: str | None = None

    async def get(self, *, renew: bool = False) -> str:
        """The token (a cached one unless ``renew``)."""
        configured = self._settings.opal_datasource_token
        if configured is not None:
            return configured.get_secret_value()
        if self._token is None or renew:
            self._token = await self._obtain()
        return self._token

    async def _obtain(self) -> str:
        master = self._settings.opal_master_token
        if master is None:
            raise RuntimeError("set PIP_OPAL_DATASOURCE_TOKEN or PIP_OPAL_MASTER_TOKEN")
        claims = {"permitted_topics": topics_for(document_names())}
        response = await self._client.post(
            f"{_server(self._settings)}/token",
            json={"type": "datasource", "ttl": TOKEN_TTL_SECONDS, "claims": claims},
            headers={"Authorization": f"Bearer {master.get_secret_value()}"},
        )
        response.raise_for_status()
        return str(response.json()["token"])


def _server(settings: Settings) -> str:
    return (settings.opal_server_url or "").rstrip("/")


class OpalPublisher:
    """Sends DataUpdates for changed documents, in revision order per document."""

    def __init__(
        self,
        settings: Settings,
        documents: Callable[[], Documents],
        sessions: Any,
        *,
        client: httpx.AsyncClient | None = None,
        deltas: Deltas | None = None,
    ) -> None:
        self.settings = settings
        self._documents = documents
        self._sessions = sessions
        self._client = client
        self._deltas = deltas
        self._tokens: DatasourceTokens | None = None
        self._sent: dict[str, _Sent] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._history: deque[tuple[int, Publication]] = deque(maxlen=256)
        self._sequence = 0

    def mark(self) -> int:
        """A position in the history of publications (see ``since``)."""
        return self._sequence

    def since(self, mark: int) -> list[Publication]:
        """Publications made after ``mark`` (the last 256 at most)."""
        return [publication for seq, publication in self._history if seq > mark]

    @property
    def enabled(self) -> bool:
        """Whether an OPAL server is configured."""
        return bool(self.settings.opal_server_url)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def prime(self, names: Iterable[str]) -> None:
        """Remember the current version of documents as what clients hold (at start)."""
        for name in names:
            try:
                document = await self._documents().get(name)
            except Exception as err:  # not built, or refused: its first change is a refetch
                logger.debug("not priming %s: %s", name, type(err).__name__)
                continue
            self._sent[name] = _Sent(document.revision, document.etag, document.body_gz)

    async def publish(self, names: Iterable[str], *, reason: str) -> list[Publication]:
        """Publish every document of ``names`` whose revision moved since it was last published."""
        if not self.enabled:
            return []
        found = [await self.publish_document(name, reason=reason) for name in names]
        return [publication for publication in found if publication is not None]

    async def publish_document(
        self, name: str, *, reason: str, refetch: bool = False
    ) -> Publication | None:
        """Publish one document (a refetch when asked); None when nothing is new."""
        if not self.enabled or name == META:
            return None
        async with self._locks.setdefault(name, asyncio.Lock()):
            document = await self._documents().get(name)
            sent = self._sent.get(name)
            if not refetch and sent is not None and document.revision <= sent.revision:
                return None
            return await self._send(document, sent, reason, refetch)

    async def _send(
        self, document: ServedDocument, sent: _Sent | None, reason: str, refetch: bool
    ) -> Publication:
        entry, kind = await self._entry(document, sent, refetch)
        meta = await self._meta_entry(document.name)
        update = self._update([entry, *meta], reason)
        payload = orjson.dumps(to_wire(update))
        ok = await self._post(payload)
        if ok:
            self._sent[document.name] = _Sent(document.revision, document.etag, document.body_gz)
        publication = Publication(
            update.id or "", document.name, document.revision, kind, len(payload), ok
        )
        await self._record(publication, reason)
        self._sequence += 1
        self._history.append((self._sequence, publication))
        return publication

    async def _entry(
        self, document: ServedDocument, sent: _Sent | None, refetch: bool
    ) -> tuple[DataSourceEntry, str]:
        if not refetch and sent is not None:
            ops = await self._ops(document, sent)
            if len(orjson.dumps(ops)) <= self.settings.opal_patch_max_bytes:
                return patch_entry(document.name, ops), PATCH
        read = first_read_token(self.settings) or ""
        return refetch_entry(document.name, public_url=self.settings.public_url, read_token=read), (
            REFETCH
        )

    async def _ops(self, document: ServedDocument, sent: _Sent) -> list[dict[str, Any]]:
        """The patch from what clients hold: from known entity changes, else a diff of bodies."""
        known = None
        if self._deltas is not None:
            known = self._deltas.between(document.name, sent.etag, document.etag)
        if known is not None:
            return changes_patch(known)
        return await asyncio.to_thread(_patch, sent.body_gz, document)

    async def _meta_entry(self, name: str) -> list[DataSourceEntry]:
        line = (await self._documents().meta()).get(name)
        if line is None:
            return []
        return [patch_entry(META, [{"op": "add", "path": entity_path(name), "value": line}])]

    def _update(self, entries: list[DataSourceEntry], reason: str) -> DataUpdate:
        callbacks: list[str | tuple[str, HttpFetcherConfig]] = []
        read = first_read_token(self.settings)
        if self.settings.opal_callbacks_enabled and read:
            url = f"{self.settings.public_url.rstrip('/')}{CALLBACK_ROUTE}"
            headers = {"content-type": "application/json", "Authorization": f"Bearer {read}"}
            config = HttpFetcherConfig(method="post", headers=headers, process_data=False)
            callbacks.append((url, config))
        return DataUpdate(
            id=uuid.uuid4().hex,
            entries=entries,
            reason=reason[:200],
            callback=UpdateCallback(callbacks=callbacks),
        )

    async def _post(self, payload: bytes) -> bool:
        try:
            response = await self._post_once(payload, renew=False)
            if response.status_code == 401 and self.settings.opal_datasource_token is None:
                response = await self._post_once(payload, renew=True)
        except (httpx.HTTPError, RuntimeError) as err:
            logger.warning("publishing to OPAL failed: %s", type(err).__name__)
            return False
        if response.status_code >= 300:
            logger.warning("OPAL refused a DataUpdate: HTTP %s", response.status_code)
            return False
        return True

    async def _post_once(self, payload: bytes, *, renew: bool) -> httpx.Response:
        if self._tokens is None:
            self._tokens = DatasourceTokens(self.settings, self._http())
        token = await self._tokens.get(renew=renew)
        return await self._http().post(
            f"{_server(self.settings)}/data/config",
            content=payload,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    async def _record(self, publication: Publication, reason: str) -> None:
        async with transaction(self._sessions) as session:
            session.add(
                OpalPublication(
                    update_id=publication.update_id, document=publication.document,
                    revision=publication.revision, kind=publication.kind,
                    size=publication.size, reason=reason[:200],
                    status="published" if publication.ok else "failed",
                )
            )  # fmt: skip
        logger.info(
            "published %s revision %d to OPAL as %s (%d bytes)%s",
            publication.document, publication.revision, publication.kind, publication.size,
            "" if publication.ok else " [failed]",
        )  # fmt: skip

    async def heal(self, document: str) -> Publication | None:
        """A client could not apply an update of ``document``: make every client refetch it."""
        return await self.publish_document(
            document, reason="a client missed an update", refetch=True
        )


def _patch(old_gz: bytes, document: ServedDocument) -> list[dict[str, Any]]:
    old: dict[str, Any] = orjson.loads(gzip.decompress(old_gz))
    return document_patch(old, _body(document))


def document_of_dst(dst_path: str) -> str | None:
    """The document stored at an entry's ``dst_path`` (``/pip/identity/users``)."""
    name = dst_path.removeprefix("/pip/")
    return name if name in document_names() and name != META else None


__all__ = ["CALLBACK_ROUTE", "DATA_ROUTE", "OpalPublisher", "Publication", "document_of_dst"]
