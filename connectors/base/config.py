"""Pieces every connector's settings share: secure URLs, secret fields and their checks.

``SecureUrl`` is an https URL without query or fragment; plain http is allowed
only on loopback, where the tests' fakes listen. ``root_url`` also refuses a
path (for settings that name an account or site root).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, SecretStr

# Optional secrets render as anyOf[string, null]; mark the field itself write-only too.
SECRET_SCHEMA: dict[str, Any] = {"writeOnly": True, "format": "password"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is localhost or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _require_https(value: AnyHttpUrl) -> None:
    if value.scheme != "https" and not is_loopback(value.host or ""):
        raise ValueError("must use https (plain http is allowed only on loopback)")


def secure_url(value: AnyHttpUrl) -> AnyHttpUrl:
    """An https URL without query or fragment (plain http only on loopback, for fakes)."""
    _require_https(value)
    if value.query or value.fragment:
        raise ValueError("must not have a query or fragment")
    return value


def root_url(what: str) -> Callable[[AnyHttpUrl], AnyHttpUrl]:
    """A secure URL check that also refuses a path; its error says the URL must be ``what``."""

    def check(value: AnyHttpUrl) -> AnyHttpUrl:
        _require_https(value)
        if value.query or value.fragment or value.path not in (None, "", "/"):
            raise ValueError(f"must be {what}, without path or query")
        return value

    return check


def non_blank(value: SecretStr) -> SecretStr:
    """A secret that is not empty or only spaces."""
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


def filled(value: Any) -> bool:
    """Whether an optional setting (a secret included) has a non-empty value."""
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


SecureUrl = Annotated[AnyHttpUrl, AfterValidator(secure_url)]
RootUrl = Annotated[AnyHttpUrl, AfterValidator(root_url("a root URL"))]
NonBlankSecret = Annotated[SecretStr, AfterValidator(non_blank)]
