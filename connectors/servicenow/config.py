"""Connection settings of a ServiceNow instance."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from connectors.base.config import SECRET_SCHEMA, SecureUrl, filled

_TABLE = re.compile(r"^cmdb_ci[a-z0-9_]*$")


class ServiceNowConfig(BaseModel):
    """How to reach one ServiceNow instance and what to read from it."""

    model_config = ConfigDict(extra="forbid", title="ServiceNow")

    instance_url: SecureUrl = Field(
        title="Instance URL",
        description="e.g. https://acme.service-now.com (https; plain http only on loopback)",
    )
    auth_method: Literal["basic", "oauth"] = Field(
        default="basic",
        title="Authentication",
        description="basic: integration user and password; oauth: an OAuth API client "
        "(token from /oauth_token.do, cached until it expires)",
    )
    oauth_grant: Literal["client_credentials", "password"] = Field(
        default="client_credentials",
        title="OAuth grant",
        description="client_credentials (no user), or password (the integration user's "
        "username and password with the client id and secret)",
    )
    username: str | None = Field(
        default=None,
        validate_default=True,
        title="Username",
        description="Integration user with read access (basic auth and the OAuth password grant)",
    )
    password: SecretStr | None = Field(
        default=None, validate_default=True, title="Password", json_schema_extra=SECRET_SCHEMA
    )
    client_id: str | None = Field(
        default=None,
        validate_default=True,
        title="OAuth client id",
        description="Of the OAuth API endpoint registered in System OAuth > Application Registry",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        title="OAuth client secret",
        json_schema_extra=SECRET_SCHEMA,
    )
    tables: list[str] = Field(
        default_factory=lambda: ["cmdb_ci_computer"],
        min_length=1,
        title="CMDB tables",
        description="cmdb_ci_* classes read as devices; child classes are included by ServiceNow",
    )
    read_relationships: bool = Field(
        default=True, title="Relationships", description="Read the CI graph from cmdb_rel_ci"
    )
    read_changes: bool = Field(
        default=True,
        title="Change requests",
        description="Read change_request with task_ci and sysapproval_approver",
    )
    page_size: int = Field(
        default=1000, ge=1, le=10000, title="Page size", description="Records per request"
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Webhook signing secret",
        description="HMAC-SHA256 key of signed webhooks from business rules "
        "(X-Timestamp, X-Signature: sha256=...); webhooks are refused when empty",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )

    @field_validator("username", "password")
    @classmethod
    def _user_when_needed(cls, value: Any, info: ValidationInfo) -> Any:
        needed = (
            info.data.get("auth_method") == "basic" or info.data.get("oauth_grant") == "password"
        )
        if needed and not filled(value):
            raise ValueError("is required for basic auth and for the OAuth password grant")
        return value

    @field_validator("client_id", "client_secret")
    @classmethod
    def _client_when_oauth(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("auth_method") == "oauth" and not filled(value):
            raise ValueError("is required for OAuth")
        return value

    @field_validator("tables")
    @classmethod
    def _cmdb_tables(cls, value: list[str]) -> list[str]:
        bad = [table for table in value if not _TABLE.match(table)]
        if bad:
            raise ValueError(f"not CMDB CI tables (cmdb_ci_*): {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("lists a table twice")
        return value

    @property
    def base_url(self) -> str:
        """The instance URL without a trailing slash."""
        return str(self.instance_url).rstrip("/")
