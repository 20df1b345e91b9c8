"""Connection settings of a Microsoft Entra ID tenant."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr

from connectors.graph.config import GraphConfig


class EntraConfig(GraphConfig):
    """An app registration with application permissions on one Entra ID tenant."""

    model_config = ConfigDict(extra="forbid", title="Microsoft Entra ID")

    read_restricted: bool = Field(
        default=False,
        title="Read restricted fields",
        description="Also read employeeId and mobilePhone (restricted; minimal PII when off)",
    )
    read_sign_in_activity: bool = Field(
        default=False,
        title="Read sign-in activity",
        description="Read signInActivity (needs AuditLog.Read.All and Entra ID P1 or P2)",
    )
    webhook_client_state: SecretStr | None = Field(
        default=None,
        max_length=255,
        title="Change notification client state",
        description="Secret sent as clientState with Graph subscriptions for users and groups; "
        "notifications are accepted only when they carry it (max 255 characters)",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )
