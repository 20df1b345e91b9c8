"""External secret references: the PIP reads the secret when it needs it and never stores it.

A connection's ``secret_ref`` is either one reference whose value is a JSON
object of secret fields, or ``field=REF`` pairs separated by ``;`` giving one
field each::

    env:OKTA_SECRETS                       JSON object in an environment variable
    file:/run/secrets/okta.json            JSON object in a file
    vault:kv/pip/okta                      every key of a HashiCorp Vault KV v2 secret
    api_token=vault:kv/pip/okta#token;client_secret=env:OKTA_CLIENT_SECRET

Vault is read with ``hvac`` (KV v2, ``GET /v1/<mount>/data/<path>``) at
``PIP_VAULT_ADDR`` (or ``VAULT_ADDR``) with ``PIP_VAULT_TOKEN`` (or
``VAULT_TOKEN``). Errors name the reference, never a value.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import orjson
import requests
from hvac import exceptions as vault_errors

from pip_service.errors import ConfigError, TransientSourceError
from pip_service.logging import register_secret

logger = logging.getLogger(__name__)

SCHEMES = ("env", "file", "vault")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_VAULT = re.compile(r"^(?P<mount>[\w.-]+)/(?P<path>[\w./-]+?)(?:#(?P<field>[\w.-]+))?$")
VaultRead = Callable[[str, str], dict[str, Any]]


@dataclass(frozen=True)
class SecretRef:
    """One parsed reference."""

    scheme: str
    target: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}" + (f"#{self.field}" if self.field else "")


def parse(spec: str) -> list[tuple[str | None, SecretRef]]:
    """``[(field or None, ref)]``; ConfigError naming what is wrong."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("secret_ref is empty", field="secret_ref")
    if ";" not in spec and not re.match(r"^\w+=", spec):
        return [(None, _parse_one(spec))]
    return [_parse_pair(item.strip()) for item in spec.split(";") if item.strip()]


def _parse_pair(item: str) -> tuple[str | None, SecretRef]:
    name, sep, ref = item.partition("=")
    if not sep or not _FIELD.match(name.strip()):
        raise ConfigError(f"secret_ref item {name.strip()!r} must be field=REF", field="secret_ref")
    return name.strip(), _parse_one(ref.strip())


def _parse_one(text: str) -> SecretRef:
    scheme, sep, target = text.partition(":")
    if not sep or scheme not in SCHEMES:
        raise ConfigError("secret_ref must start with env:, file: or vault:", field="secret_ref")
    if scheme == "env" and not _ENV.match(target):
        raise ConfigError(f"env:{target} is not a variable name", field="secret_ref")
    if scheme == "file" and not target.startswith("/"):
        raise ConfigError("file: references need an absolute path", field="secret_ref")
    if scheme == "vault":
        match = _VAULT.match(target)
        if match is None:
            raise ConfigError(
                "vault: references look like vault:mount/path#field", field="secret_ref"
            )
        return SecretRef("vault", f"{match['mount']}/{match['path']}", match["field"])
    return SecretRef(scheme, target)


def resolve(spec: str, *, vault: VaultRead | None = None) -> dict[str, str]:
    """The secret fields a reference spec gives (values registered for log redaction)."""
    values: dict[str, str] = {}
    for name, ref in parse(spec):
        raw = _read(ref, vault or read_vault)
        values.update(_as_fields(ref, name, raw))
    for value in values.values():
        register_secret(value)
    return values


def _as_fields(ref: SecretRef, name: str | None, raw: Any) -> dict[str, str]:
    if name is not None:
        if isinstance(raw, dict):
            raise ConfigError(f"{ref} holds several values: add #field", field="secret_ref")
        return {name: str(raw)}
    if not isinstance(raw, dict):
        raise ConfigError(f"{ref} must hold a JSON object of secret fields", field="secret_ref")
    return {str(key): str(value) for key, value in raw.items()}


def _read(ref: SecretRef, vault: VaultRead) -> Any:
    if ref.scheme == "env":
        return _json_or_text(ref, _env(ref.target))
    if ref.scheme == "file":
        return _json_or_text(ref, _file(ref.target))
    data = vault(*ref.target.split("/", 1))
    if ref.field is None:
        return data
    if ref.field not in data:
        raise ConfigError(f"{ref}: the secret has no field {ref.field!r}", field="secret_ref")
    return data[ref.field]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"secret reference env:{name}: the variable is not set")
    return value


def _file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"secret reference file:{path} cannot be read: {err.strerror}") from err


def _json_or_text(ref: SecretRef, text: str) -> Any:
    if not text.startswith("{"):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise ConfigError(f"{ref} looks like JSON but does not parse") from err


def read_vault(mount: str, path: str) -> dict[str, Any]:
    """The data of the latest version of a KV v2 secret (hvac)."""
    client = hvac.Client(url=_vault_setting("ADDR"), token=_vault_setting("TOKEN"), timeout=10)
    where = f"vault:{mount}/{path}"
    try:
        answer = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point=mount, raise_on_deleted_version=True
        )
    except vault_errors.InvalidPath as err:
        raise ConfigError(f"{where}: no such secret in Vault") from err
    except (vault_errors.Forbidden, vault_errors.Unauthorized) as err:
        raise ConfigError(f"{where}: Vault refused the token") from err
    except (vault_errors.VaultError, requests.RequestException) as err:
        raise TransientSourceError(f"{where}: Vault unavailable ({type(err).__name__})") from err
    return dict(answer["data"]["data"])


def _vault_setting(name: str) -> str:
    value = os.environ.get(f"PIP_VAULT_{name}") or os.environ.get(f"VAULT_{name}")
    if not value:
        raise ConfigError(f"vault: references need PIP_VAULT_{name} (or VAULT_{name})")
    return value
