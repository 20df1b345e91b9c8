"""``/webhooks/{connection_id}``: deliveries from source systems (no bearer token).

Each connector verifies its own provider's scheme (signature, shared secret,
validation handshake); the body is read up to ``PIP_WEBHOOK_MAX_BODY_BYTES``
(413 beyond), and the answer goes out as soon as the events are logged: they
are applied in the background.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from connectors.base.webhooks import WebhookMalformedError, WebhookRejectedError, WebhookRequest
from pip_service.api.deps import ConnectionId, RuntimeDep
from pip_service.api.problems import problem_response, problem_responses
from pip_service.db.base import utcnow
from pip_service.webhooks import service

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_ACK: dict[str, Any] = {
    "description": "Delivery logged, or a provider's handshake answered",
    "content": {"application/json": {}, "text/plain": {}},
}
DELIVERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _ACK,
    202: _ACK,
    204: {"description": "Delivery logged"},
    **problem_responses(400, 401, 404, 413, 422),
}


class BodyTooLargeError(Exception):
    """The body is over the limit."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLargeError as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/{connection_id}",
    summary="A webhook delivery (or Graph's validationToken handshake)",
    responses=DELIVERY_RESPONSES,
)
async def receive_webhook(
    connection_id: ConnectionId, request: Request, runtime: RuntimeDep
) -> Response:
    """Verify, log and queue a delivery; the events are applied in the background."""
    return await _handle(connection_id, request, runtime)


@router.get(
    "/{connection_id}",
    summary="A provider's one-time verification request (Okta event hooks)",
    responses=DELIVERY_RESPONSES,
)
async def verify_webhook_endpoint(
    connection_id: ConnectionId, request: Request, runtime: RuntimeDep
) -> Response:
    """Answer a provider's verification challenge."""
    return await _handle(connection_id, request, runtime)


async def _handle(connection_id: int, request: Request, runtime: RuntimeDep) -> Response:
    received_at = utcnow()
    limit = runtime.settings.webhook_max_body_bytes
    try:
        body = await read_limited(request, limit)
    except BodyTooLargeError:
        await service.log_rejection(runtime, connection_id, None, "body too large", 0.0)
        detail = f"Webhook bodies are limited to {limit} bytes"
        return problem_response(413, "body_too_large", detail)
    parts = WebhookRequest(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
        received_at=received_at,
    )
    try:
        receipt = await service.receive(runtime, connection_id=connection_id, request=parts)
    except WebhookRejectedError as err:
        return problem_response(401, err.code, err.message)
    except WebhookMalformedError as err:
        return problem_response(400, err.code, err.message)
    return Response(receipt.body, status_code=receipt.status, media_type=receipt.media_type)
