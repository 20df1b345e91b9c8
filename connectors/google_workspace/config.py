"""Connection settings of a Google Workspace account read through the Admin SDK Directory API."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from joserfc.jwk import RSAKey
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.base.config import SecureUrl, secure_url
from connectors.graph.certificates import load_rsa_key

SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ServiceAccountKey:
    """The parts of a service account's JSON key the JWT assertion needs."""

    client_email: str
    private_key_id: str
    token_uri: str
    key: RSAKey = field(repr=False)


def parse_key(text: str) -> ServiceAccountKey:
    """Read a service account JSON key; ValueError naming what is wrong (never its values)."""
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise ValueError("is not a JSON key file") from err
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValueError("is not a service account key (type must be service_account)")
    missing = [k for k in ("client_email", "private_key", "private_key_id") if not data.get(k)]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    token_uri = str(
        secure_url(AnyHttpUrl(data.get("token_uri") or "https://oauth2.googleapis.com/token"))
    )
    key = RSAKey.import_key(load_rsa_key(str(data["private_key"])))
    return ServiceAccountKey(str(data["client_email"]), str(data["private_key_id"]), token_uri, key)


class GoogleWorkspaceConfig(BaseModel):
    """A service account with domain-wide delegation, impersonating a read-only admin."""

    model_config = ConfigDict(extra="forbid", title="Google Workspace")

    service_account_key: SecretStr = Field(
        title="Service account key (JSON)",
        description="The JSON key file of a service account with domain-wide delegation",
    )
    admin_email: str = Field(
        title="Admin to impersonate",
        description="A Workspace admin allowed to read users and groups (the JWT's sub)",
    )
    customer: str = Field(
        default="my_customer",
        min_length=1,
        title="Customer ID",
        description="my_customer (the admin's own account) or a customer ID such as C01abc23",
    )
    api_url: SecureUrl = Field(
        default=AnyHttpUrl("https://admin.googleapis.com"),
        title="Directory API endpoint",
        description="Admin SDK root (change only for a proxy)",
    )
    page_size: int = Field(
        default=500, ge=1, le=500, title="Page size", description="maxResults (groups: at most 200)"
    )

    @field_validator("service_account_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        parse_key(value.get_secret_value())
        return value

    @field_validator("admin_email")
    @classmethod
    def _admin(cls, value: str) -> str:
        if not _EMAIL.match(value.strip()):
            raise ValueError("must be the email address of a Workspace admin")
        return value.strip().lower()

    @property
    def key(self) -> ServiceAccountKey:
        """The parsed service account key."""
        return parse_key(self.service_account_key.get_secret_value())

    @property
    def base_url(self) -> str:
        """The Directory API root."""
        return f"{str(self.api_url).rstrip('/')}/admin/directory/v1"
