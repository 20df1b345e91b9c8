"""The OPAL-facing endpoints: policy documents and the data-source config.

``GET /opal/pip-data/{name}`` is OPAL's hot path: the cached gzip bytes go out as
they are (``Content-Encoding: gzip``) to clients that accept gzip, with an
``ETag`` that answers ``If-None-Match`` with 304, and ``Cache-Control`` from the
time left before the document's TTL runs out. Nothing is parsed or re-encoded,
and a 304 is answered from the document's head (ETag and freshness) without
reading its body.
A 304 carries ``ETag``, ``Cache-Control`` and ``Vary`` (RFC 9110 §15.4.5), and
``X-PIP-Stale`` when stale, but not ``X-PIP-Revision``: the ETag already names the
version the client holds, and every header a 304 leaves out is work on OPAL's
most frequent answer. The 200 carries ``X-PIP-Revision``.
Its 200 and 304 answers come from ``OpalDataFastPath`` (``install_fast_path``),
ahead of FastAPI's own per-request work; everything else, errors included, from
the route.
``GET /opal/data-sources`` is OPAL's ``external_source_url``: the OPAL server
redirects its clients there with their token as ``?token=``.
"""

from __future__ import annotations

import gzip
import logging
import random
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from opal.datasources import DocumentSource, data_source_config
from opal.models import DataSourceConfig, to_wire
from pip_service.api.deps import OpalCredentials, OpalReader, RuntimeDep
from pip_service.api.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from pip_service.auth.roles import Principal
from pip_service.auth.service import ENV_OPAL
from pip_service.documents import catalog
from pip_service.documents.service import DocumentService
from pip_service.errors import AuthenticationError, UnavailableError
from pip_service.logging import CORRELATION_HEADER, clean_correlation_id
from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/opal", tags=["opal"])

STALE_HEADER = "X-PIP-Stale"
REVISION_HEADER = "X-PIP-Revision"
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    503: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Fails closed"},
}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value (``*``, a list, weak ``W/`` forms) names ``etag``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (not refused with ``q=0``)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            return not _refused(params)
    return False


def _refused(params: str) -> bool:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


class Versioned(Protocol):
    """What the response headers say about a version (a ``DocumentHead`` or ``ServedDocument``)."""

    @property
    def name(self) -> str:
        """The document's name."""
        ...

    @property
    def etag(self) -> str:
        """The version's ETag."""
        ...

    @property
    def revision(self) -> int:
        """The version's revision."""
        ...

    @property
    def stale(self) -> bool:
        """Past its TTL, served stale."""
        ...

    @property
    def ttl_seconds(self) -> int:
        """The document's TTL."""
        ...

    @property
    def refreshed_at(self) -> datetime:
        """When its data was last refreshed."""
        ...


def remaining_ttl(document: Versioned, now: datetime | None = None) -> int:
    """Whole seconds left before the document's TTL runs out (0 when stale)."""
    if document.stale:
        return 0
    age = ((now or datetime.now(UTC)) - document.refreshed_at).total_seconds()
    return max(0, int(document.ttl_seconds - age))


def _headers(document: Versioned, *, not_modified: bool = False) -> dict[str, str]:
    """The answer's headers; a 304 (``not_modified``) leaves out ``X-PIP-Revision``."""
    headers = {
        "ETag": document.etag,
        "Cache-Control": f"private, max-age={remaining_ttl(document)}",
        "Vary": "Accept-Encoding",
    }
    if not not_modified:
        headers[REVISION_HEADER] = str(document.revision)
    if document.stale:
        headers[STALE_HEADER] = "true"
    return headers


def _header_doc(description: str, *, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


_VALIDATORS = {
    "ETag": _header_doc("The version's ETag (a hash of its body)"),
    "Cache-Control": _header_doc("`private, max-age=<seconds left before the TTL runs out>`"),
    "Vary": _header_doc("`Accept-Encoding`"),
}
_REVISION = _header_doc("The version's revision")
_STALE = _header_doc("`true` when past its TTL and served stale", required=False)


@router.get(
    "/pip-data/{document_path:path}",
    summary="A policy document, for OPAL clients",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {}},
            "description": "The document (gzip if asked)",
            "headers": {**_VALIDATORS, REVISION_HEADER: _REVISION, STALE_HEADER: _STALE},
        },
        304: {
            "description": "Unchanged since the ETag in If-None-Match (no body, no "
            "X-PIP-Revision: the ETag names the version)",
            "headers": {**_VALIDATORS, STALE_HEADER: _STALE},
        },
        **_PROBLEMS,
    },
)
async def get_document(
    document_path: str, request: Request, runtime: RuntimeDep, _reader: OpalReader
) -> Response:
    """Serve one document: ETag/304, gzip as stored, Cache-Control from the TTL, stale marker."""
    document, body_gz = await resolve(
        runtime.documents, document_path, request.headers.get("if-none-match")
    )
    headers = _headers(document, not_modified=body_gz is None)
    if body_gz is None:
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding")):
        headers["Content-Encoding"] = "gzip"
        return Response(body_gz, media_type="application/json", headers=headers)
    return Response(gzip.decompress(body_gz), media_type="application/json", headers=headers)


async def resolve(
    documents: DocumentService, name: str, if_none_match: str | None
) -> tuple[Versioned, bytes | None]:
    """The version to answer with and its gzip body; no body: answer 304 (the body is not read)."""
    head = await documents.head(name)
    if etag_matches(if_none_match, head.etag):
        return head, None
    document = await documents.complete(head)  # a newer version if the cache lost the body
    if etag_matches(if_none_match, document.etag):
        return document, None
    return document, document.body_gz


async def data_sources_reader(
    runtime: RuntimeDep,
    credentials: OpalCredentials,
    token: Annotated[
        str | None, Query(description="OPAL server's redirect appends the client token here")
    ] = None,
) -> Principal:
    """An OPAL read token from the Authorization header or, for this route, ``?token=``."""
    offered = [c for c in (credentials.credentials if credentials else None, token) if c]
    for candidate in offered:
        try:
            return await runtime.auth.opal_principal(candidate)
        except AuthenticationError:
            continue
    raise AuthenticationError("Missing or unknown OPAL bearer token")


@router.get(
    "/data-sources",
    summary="OPAL's data-source config (external_source_url)",
    response_model=DataSourceConfig,
    responses=_PROBLEMS,
)
async def get_data_sources(
    runtime: RuntimeDep, _reader: Annotated[Principal, Depends(data_sources_reader)]
) -> JSONResponse:
    """One entry per document: URL, topic, dst_path, refresh interval, the PIP read token."""
    settings = runtime.settings
    config = data_source_config(
        await document_sources(runtime),
        public_url=settings.public_url,
        read_token=read_token(settings.opal_tokens),
        refresh_ratio=settings.refresh_ahead_ratio,
    )
    return JSONResponse(to_wire(config), headers={"Cache-Control": "no-store"})


def read_token(opal_tokens: SecretStr | None) -> str:
    """The PIP's own read token put in entries: the first of ``PIP_OPAL_TOKENS``."""
    value = opal_tokens.get_secret_value() if opal_tokens is not None else ""
    first = next((t.strip() for t in value.split(",") if t.strip()), None)
    if first is None:
        raise UnavailableError(
            "No OPAL read token to give OPAL clients: set PIP_OPAL_TOKENS (its first token is "
            "what the data-source entries carry)",
            code="opal_token_missing",
        )
    return first


async def document_sources(runtime: Runtime) -> list[DocumentSource]:
    """Every document with its TTL; not yet built: the shortest TTL, so it is fetched soon after.

    ``meta`` gets the shortest TTL of all, so its stale flags reach OPA in time.
    """
    shortest = float(runtime.settings.ttl_restricted)
    built = [
        DocumentSource(info.name, float(info.ttl_seconds or shortest))
        for info in await runtime.documents.list()
    ]
    return [
        *built,
        DocumentSource(catalog.META, min((d.ttl_seconds for d in built), default=shortest)),
    ]


_MemoKey = tuple[str, str, int, bool, int, bool]
FAST_PATH_TRIED = "pip.opal_fast_path_tried"
"""Scope key set when the fast path in front of FastAPI declined a request (no second try)."""


class OpalDataFastPath:
    """Pure-ASGI fast path for ``GET /opal/pip-data/*`` answers of 200 and 304.

    ``install_fast_path`` puts it in front of FastAPI's per-request work
    (``PipApp.__call__``) and, for apps whose OpenTelemetry is configured, in
    front of the middleware stack, inside FastAPI's request span. A request it
    can answer (an OPAL bearer token that authenticates, a document the service
    hands out) is answered here, without the framework's middleware, routing and
    dependency injection, with the same headers as ``get_document``, a correlation
    id and the same latency metric. Anything else (no or a wrong token, unknown
    or refused documents, an unexpected error, other methods) goes on to the app,
    whose route answers it with the proper problem response.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._latency = {
            status: runtime.metrics.http_duration.labels("GET", DATA_ROUTE_TEMPLATE, str(status))
            for status in (200, 304)
        }
        self._header_memo: dict[_MemoKey, list[tuple[bytes, bytes]]] = {}
        self._env_tokens: set[bytes] = set()

    @staticmethod
    def claims(scope: Scope) -> bool:
        """Whether the request is one the fast path may answer (a GET of a document)."""
        return (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(_FAST_PREFIX)
            and FAST_PATH_TRIED not in scope
        )

    def in_stack(self, app: ASGIApp) -> ASGIApp:
        """The fast path as a middleware in front of ``app``."""

        async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
            if not (self.claims(scope) and await self.answer(scope, send)):
                await app(scope, receive, send)

        return fast_path

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Answer a request ``claims`` accepted; False (nothing sent): the app must answer it."""
        began = time.perf_counter()
        headers = {k: v for k, v in scope["headers"] if k in _WANTED}
        token = headers.get(b"authorization", b"")
        if token[:7].lower() != b"bearer ":
            return False
        try:
            await self._authenticate(token[7:].strip())
            document, body = await resolve(
                self.runtime.documents,
                scope["path"][len(_FAST_PREFIX) :],
                _text(headers.get(b"if-none-match")),
            )
        except Exception:  # any failure: the app answers it again, with its error handlers
            return False
        out = [
            *self._raw_headers(document, not_modified=body is None),
            (_CORRELATION, _correlation(headers.get(_CORRELATION))),
        ]
        status = 304 if body is None else 200
        body = b"" if body is None else _entity(body, headers.get(b"accept-encoding"), out)
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        self._latency[status].observe(time.perf_counter() - began)
        return True

    async def _authenticate(self, token: bytes) -> None:
        """Raise unless ``token`` is an OPAL read token.

        Tokens from ``PIP_OPAL_TOKENS`` are remembered (they cannot change while
        the process runs); stored tokens are checked every time, so revoking one
        takes effect as the authenticator says.
        """
        if token in self._env_tokens:
            return
        principal = await self.runtime.auth.opal_principal(token.decode("latin-1"))
        if principal.token_id is None and principal.name == ENV_OPAL and len(self._env_tokens) < 64:
            self._env_tokens.add(token)

    def _raw_headers(self, document: Versioned, *, not_modified: bool) -> list[tuple[bytes, bytes]]:
        """``_headers`` as ASGI byte pairs, once per version, stale flag, TTL second and status.

        The revision is part of the key: a body can come back (same ETag) with a new revision.
        """
        ttl = _remaining_ttl_now(document)
        key = (document.name, document.etag, document.revision, document.stale, ttl, not_modified)
        raw = self._header_memo.get(key)
        if raw is None:
            if len(self._header_memo) > 256:
                self._header_memo.clear()
            items = _headers(document, not_modified=not_modified).items()
            raw = self._header_memo[key] = [(k.lower().encode(), v.encode()) for k, v in items]
        return raw


def install_fast_path(app: FastAPI, runtime: Runtime) -> OpalDataFastPath:
    """Put an ``OpalDataFastPath`` in front of the app's whole middleware stack; returns it.

    ``PipApp`` also asks it first, before FastAPI's own per-request work.
    """
    fast = OpalDataFastPath(runtime)
    build = app.build_middleware_stack

    def build_with_fast_path() -> ASGIApp:
        return fast.in_stack(build())

    app.build_middleware_stack = build_with_fast_path  # type: ignore[method-assign]
    return fast


DATA_ROUTE_TEMPLATE = "/opal/pip-data/{document_path}"  # the route's path_format
_FAST_PREFIX = "/opal/pip-data/"
_CORRELATION = CORRELATION_HEADER.lower().encode()
_WANTED = frozenset({b"authorization", b"if-none-match", b"accept-encoding", _CORRELATION})


def _entity(body_gz: bytes, accept_encoding: bytes | None, out: list[tuple[bytes, bytes]]) -> bytes:
    """The 200 body (gzip as stored when accepted); its entity headers are added to ``out``."""
    if accepts_gzip(_text(accept_encoding)):
        out.append((b"content-encoding", b"gzip"))
        body = body_gz
    else:
        body = gzip.decompress(body_gz)
    out += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return body


def _remaining_ttl_now(document: Versioned) -> int:
    """``remaining_ttl`` at this moment, on POSIX timestamps (cheaper than datetimes)."""
    if document.stale:
        return 0
    expires = document.refreshed_at.timestamp() + document.ttl_seconds
    return max(0, int(expires - time.time()))


def _correlation(offered: bytes | None) -> bytes:
    """The request's correlation id if it is safe to echo, else a fresh one (32 hex characters).

    Fresh ids come from ``random`` (reseeded in forked children), not ``uuid4``:
    a correlation id needs to be unique, not unpredictable, and ``os.urandom``
    is a system call on every request.
    """
    if offered is not None:
        return clean_correlation_id(offered.decode("latin-1")).encode()
    return b"%032x" % random.getrandbits(128)


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None
