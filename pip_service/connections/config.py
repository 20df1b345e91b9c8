"""Connector config: validated whole by the connector's model, then split into plain and secret.

Errors name every bad field (``config.page_size``) with pydantic's message and
type, never the value that was sent: a rejected value may be a secret.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from connectors.base.connector import Connector
from pip_service.errors import ConfigError


def validate_config(connector_class: type[Connector[Any]], config: dict[str, Any]) -> BaseModel:
    """The connector's config model built from ``config``; unknown or bad fields → ConfigError."""
    model = connector_class.config_model
    errors = _unknown_fields(model, config)
    try:
        validated = model.model_validate(config)
    except ValidationError as err:
        seen = {(e["field"], e["type"]) for e in errors}
        errors += [e for e in field_errors(err, "config") if (e["field"], e["type"]) not in seen]
    if errors:
        raise _config_error(f"invalid config for connector type {connector_class.slug!r}", errors)
    return validated


def split_config(
    connector_class: type[Connector[Any]], validated: BaseModel
) -> tuple[dict[str, Any], dict[str, str]]:
    """(plain JSON config, secret values by field name) of a validated config."""
    secret_names = connector_class.secret_fields()
    plain = validated.model_dump(mode="json", exclude=set(secret_names))
    secrets: dict[str, str] = {}
    for name in secret_names:
        value = getattr(validated, name)
        if isinstance(value, SecretStr):
            secrets[name] = value.get_secret_value()
    return plain, secrets


def field_errors(err: ValidationError, prefix: str) -> list[dict[str, str]]:
    """Pydantic's errors as ``{field, message, type}``, without the input values."""
    return [
        {
            "field": _dotted(prefix, item["loc"]),
            "message": item["msg"],
            "type": item["type"],
        }
        for item in err.errors(include_input=False, include_url=False, include_context=False)
    ]


def config_error_from(err: ValidationError, *, prefix: str, what: str) -> ConfigError:
    """A ConfigError listing every bad field of a ValidationError."""
    return _config_error(f"invalid {what}", field_errors(err, prefix))


def _config_error(headline: str, errors: list[dict[str, str]]) -> ConfigError:
    listed = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return ConfigError(f"{headline}: {listed}", code="invalid_config", errors=errors)


def _unknown_fields(model: type[BaseModel], config: dict[str, Any]) -> list[dict[str, str]]:
    known = set(model.model_fields)
    known |= {info.alias for info in model.model_fields.values() if info.alias}
    return [
        {
            "field": f"config.{key}",
            "message": "Unknown field for this connector type",
            "type": "extra_forbidden",
        }
        for key in config
        if key not in known
    ]


def _dotted(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(part) for part in loc]
    return ".".join(parts) or "(root)"
