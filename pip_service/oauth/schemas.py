"""API shapes of a connection's OAuth client and connection status (secrets write-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OAuthClientIn(BaseModel):
    """The OAuth client an admin registered at the provider for this connection."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    provider: str = Field(min_length=1, max_length=50, description="A preset: okta, entra_id...")
    client_id: str = Field(min_length=1, max_length=300)
    client_secret: SecretStr | None = Field(default=None, description="Stored encrypted")
    params: dict[str, str] = Field(
        default_factory=dict, description="Preset parameters: domain, tenant, instance..."
    )
    scopes: list[str] | None = Field(
        default=None, description="Scopes to ask for; the preset's for this connector by default"
    )
    grant: Literal["authorization_code", "client_credentials"] = "authorization_code"


class OAuthStatusOut(BaseModel):
    """Whether a connection is connected, with what, until when; never a token."""

    connection_id: int
    provider: str | None
    client_id: str | None
    grant: str | None
    scopes: list[str]
    connected: bool
    has_refresh_token: bool = False
    expires_at: datetime | None = None
    connected_by: str | None = None
    refreshed_at: datetime | None = None
    state: str
    state_reason: str | None


class DisconnectOut(BaseModel):
    """What disconnecting did."""

    connection_id: int
    revoked: bool = Field(description="Whether the provider was asked to revoke the tokens")
    deleted: bool


class SecretRefIn(BaseModel):
    """An external secret reference: env:NAME, file:/path, vault:mount/path#field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    secret_ref: str | None = Field(default=None, max_length=500)
