"""API shapes of connections; a response never carries a secret, only the names of stored ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pip_service.connections.models import Connection

NAME_DOC = "Unique display name"
INTERVAL_DOC = "Seconds between syncs; the connector type's default when unset"
MIN_INTERVAL = 10
MAX_INTERVAL = 7 * 86400


class ConnectionCreate(BaseModel):
    """What an admin sends to add a connection (secrets travel inside ``config``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description=NAME_DOC)
    connector_type: str = Field(min_length=1, max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    interval_seconds: int | None = Field(
        default=None, ge=MIN_INTERVAL, le=MAX_INTERVAL, description=INTERVAL_DOC
    )
    enabled: bool = True
    include_restricted: bool = False


class ConnectionUpdate(BaseModel):
    """A partial change: only the fields sent are changed.

    ``config`` is merged into the stored config; a secret field sent in it
    replaces that secret (secrets are write-only and never read back).
    ``interval_seconds: null`` goes back to the connector type's default.
    ``state`` pauses or resumes scheduled syncs.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200, description=NAME_DOC)
    config: dict[str, Any] | None = None
    interval_seconds: int | None = Field(
        default=None, ge=MIN_INTERVAL, le=MAX_INTERVAL, description=INTERVAL_DOC
    )
    enabled: bool | None = None
    include_restricted: bool | None = None
    state: Literal["active", "paused"] | None = None


class ConnectionRead(BaseModel):
    """A connection as the API shows it: config without secrets, schedule and health."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    connector_type: str
    config: dict[str, Any]
    has_secrets: bool
    secret_fields: list[str] = Field(description="Names of the stored secrets; never their values")
    secret_ref: str | None = None
    interval_seconds: int | None
    enabled: bool
    include_restricted: bool
    is_demo: bool
    state: str
    state_reason: str | None
    consecutive_failures: int
    circuit_open_until: datetime | None
    last_sync_at: datetime | None
    last_success_at: datetime | None
    last_sync_status: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_connection(cls, connection: Connection) -> ConnectionRead:
        """The read shape of a stored connection."""
        fields = {name: getattr(connection, name) for name in _COPIED}
        return cls(
            **fields,
            has_secrets=connection.secrets is not None or connection.secret_ref is not None,
            secret_fields=sorted(connection.secret_fields or []),
        )


_COPIED = [
    name for name in ConnectionRead.model_fields if name not in {"has_secrets", "secret_fields"}
]
