"""Connection settings of an Android Enterprise: the enterprise and a service account key.

The key is the JSON key file Google Cloud hands out for a service account
(``type: service_account``, ``client_email``, ``private_key_id``,
``private_key`` in PEM, ``token_uri``). Errors name what is wrong with it,
never any of its content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.base.config import SECRET_SCHEMA, SecureUrl, secure_url

API_URL = "https://androidmanagement.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/androidmanagement"
_KEY_FIELDS = ("client_email", "private_key_id", "private_key", "token_uri")


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a service account key the token request needs."""

    client_email: str
    private_key_id: str
    token_uri: str
    key: RSAKey = field(repr=False)


class AndroidEnterpriseConfig(BaseModel):
    """A Google Cloud service account with the Android Management User role on the enterprise."""

    model_config = ConfigDict(extra="forbid", title="Android Enterprise")

    enterprise_id: str = Field(
        title="Enterprise ID",
        description="The enterprise's id, e.g. LC00abcd12 (or its name enterprises/LC00abcd12)",
    )
    service_account_key: SecretStr = Field(
        title="Service account key (JSON)",
        description="The JSON key file of the service account (Google Cloud > IAM > Keys)",
        json_schema_extra=SECRET_SCHEMA,
    )
    api_url: SecureUrl = Field(
        default=AnyHttpUrl(API_URL), title="API URL", description="Android Management API host"
    )
    page_size: int = Field(
        default=100,
        ge=1,
        le=100,
        title="Page size",
        description="Devices per request (at most 100)",
    )

    @field_validator("enterprise_id")
    @classmethod
    def _enterprise(cls, value: str) -> str:
        ident = value.strip().removeprefix("enterprises/")
        if not ident or not all(c.isalnum() or c in "-_" for c in ident):
            raise ValueError("must be an enterprise id such as LC00abcd12")
        return ident

    @field_validator("service_account_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        load_service_account(value)
        return value

    @property
    def base_url(self) -> str:
        """The API URL without a trailing slash."""
        return str(self.api_url).rstrip("/")

    def account(self) -> ServiceAccount:
        """The parsed service account key."""
        return load_service_account(self.service_account_key)


def load_service_account(value: SecretStr) -> ServiceAccount:
    """Parse a service account JSON key; ValueError naming the problem (never the content)."""
    try:
        data = json.loads(value.get_secret_value())
    except ValueError as err:
        raise ValueError("is not a JSON key file") from err
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValueError("is not a service account key (type must be service_account)")
    missing = [
        name for name in _KEY_FIELDS if not isinstance(data.get(name), str) or not data[name]
    ]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    _check_token_uri(data["token_uri"])
    return ServiceAccount(
        data["client_email"], data["private_key_id"], data["token_uri"], _rsa(data["private_key"])
    )


def _check_token_uri(value: str) -> None:
    try:
        secure_url(AnyHttpUrl(value))
    except ValueError as err:
        raise ValueError("has a token_uri that is not an https URL") from err


def _rsa(pem: str) -> RSAKey:
    try:
        key = RSAKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as err:
        raise ValueError("has a private_key that is not a PEM RSA private key") from err
    if not key.is_private:
        raise ValueError("has a private_key that is not a private key")
    return key
