"""JSON logs with a correlation id per request and per sync run, and secret redaction.

``configure_logging(settings)`` installs one stderr handler on the root logger
with a JSON formatter (python-json-logger), a filter that adds the current
correlation id to every record, and a filter that redacts secrets: values
registered with ``register_secret`` (tokens, keys, connection credentials),
``Authorization``/``Bearer`` values and anything shaped like a ``pip_`` token.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from pip_service.config import Settings

logger = logging.getLogger(__name__)

REDACTED = "***"
CORRELATION_HEADER = "X-Correlation-ID"
_correlation_id: ContextVar[str | None] = ContextVar("pip_correlation_id", default=None)
_secrets: set[str] = set()
_PATTERNS = (
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+|basic\s+)?[^\s\"',}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()\bpip_[A-Za-z0-9_-]{16,}"),
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def new_correlation_id() -> str:
    """A fresh correlation id (32 hex characters)."""
    return uuid.uuid4().hex


def get_correlation_id() -> str | None:
    """The correlation id of the current request or sync run, if any."""
    return _correlation_id.get()


def clean_correlation_id(value: str | None) -> str:
    """An incoming ``X-Correlation-ID`` if it is safe to echo, else a fresh one."""
    if value and _VALID_ID.match(value):
        return value
    return new_correlation_id()


@contextmanager
def correlation_scope(value: str | None = None) -> Iterator[str]:
    """Bind a correlation id (a new one when None) for the code inside the block."""
    token = _correlation_id.set(value or new_correlation_id())
    try:
        yield _correlation_id.get() or ""
    finally:
        _correlation_id.reset(token)


def register_secret(value: str | None) -> None:
    """Remember a secret value so that no log line ever shows it (short values are ignored)."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    """The text with registered secrets, bearer/Authorization values and pip_ tokens masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class CorrelationIdFilter(logging.Filter):
    """Adds ``correlation_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach the current correlation id."""
        record.correlation_id = _correlation_id.get()
        return True


class RedactingFilter(logging.Filter):
    """Renders the message once and masks secrets in it and in the exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message (and exception text) with a redacted copy."""
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def build_handler(*, json_logs: bool = True, stream: object = None) -> logging.Handler:
    """A stderr handler with correlation ids, redaction and a JSON (or plain) formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(CorrelationIdFilter())
    handler.addFilter(RedactingFilter())
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s [%(correlation_id)s] %(message)s"
            )
        )
    return handler


def configure_logging(settings: Settings) -> None:
    """Install the service's handler on the root logger (replacing handlers set before)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pip_handler", False):
            root.removeHandler(handler)
    handler = build_handler(json_logs=settings.log_json)
    handler._pip_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    register_settings_secrets(settings)


def register_settings_secrets(settings: Settings) -> None:
    """Register every secret held in the settings (tokens, encryption keys)."""
    secrets = (settings.bootstrap_admin_token, settings.opal_tokens, settings.encryption_keys)
    for secret in (*secrets, getattr(settings, "vault_token", None)):
        if secret is None:
            continue
        raw = secret.get_secret_value()
        register_secret(raw)
        for part in raw.split(","):
            register_secret(part.strip())
            register_secret(part.strip().partition(":")[2])
