"""JSON logs carry the correlation id; secrets and Authorization values are redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from pip_service.logging import build_handler, correlation_scope, register_secret

SECRET = "Tr0ub4dor-and-3-secret"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the service's handler into a buffer."""
    stream = io.StringIO()
    logger = logging.getLogger("tests.pip.logging")
    handler = build_handler(json_logs=True, stream=stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    """The JSON objects logged."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_are_json_with_correlation_id(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    with correlation_scope("abc123"):
        logger.info("synced %s records", 42)
    logger.info("outside")
    first, second = lines(stream)
    assert first["message"] == "synced 42 records"
    assert first["correlation_id"] == "abc123"
    assert first["level"] == "INFO"
    assert second["correlation_id"] is None


def test_secrets_and_authorization_are_redacted(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    register_secret(SECRET)
    token = "pip_" + "x" * 43
    logger.info("connecting with password %s", SECRET)
    logger.info("headers: %s", {"Authorization": "Bearer abc.def.ghi", "Accept": "*/*"})
    logger.info("got token %s", token)
    try:
        raise ValueError(f"source refused {SECRET}")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert SECRET not in text
    assert "abc.def.ghi" not in text
    assert token not in text
    assert "***" in text
    assert len(lines(stream)) == 4
