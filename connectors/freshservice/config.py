"""Connection settings of a Freshservice account."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from connectors.base.config import SECRET_SCHEMA, NonBlankSecret, root_url

AccountUrl = Annotated[AnyHttpUrl, AfterValidator(root_url("the account's root URL"))]

# Canonical device field -> Freshservice type field name (without the ``_<type id>`` suffix).
DEFAULT_FIELDS = {
    "serial_number": "serial_number",
    "hostname": "hostname",
    "os": "os",
    "os_version": "os_version",
    "manufacturer": "vendor",
    "model": "product",
    "status": "asset_state",
}


class FreshserviceConfig(BaseModel):
    """How to reach one Freshservice account and what to read from it."""

    model_config = ConfigDict(extra="forbid", title="Freshservice")

    domain_url: AccountUrl = Field(
        title="Account URL",
        description="e.g. https://acme.freshservice.com (https; plain http only on loopback)",
    )
    api_key: NonBlankSecret = Field(
        title="API key",
        description="An agent's API key (Profile settings); sent as the basic-auth username",
        json_schema_extra=SECRET_SCHEMA,
    )
    asset_types: list[str] = Field(
        default_factory=lambda: ["Computer"],
        min_length=1,
        title="Device asset types",
        description="Asset types read as devices; their child types are included",
    )
    type_fields: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_FIELDS),
        title="Type field mapping",
        description="Canonical device field -> type field name (without the type id suffix)",
    )
    read_relationships: bool = Field(default=True, title="Relationships")
    read_changes: bool = Field(default=True, title="Changes")
    change_requester_id: int | None = Field(
        default=None,
        title="Requester of created changes",
        description="Requester id used when the PIP creates a change (needed to create changes)",
    )
    page_size: int = Field(
        default=100, ge=1, le=100, title="Page size", description="Records per request (max 100)"
    )

    @field_validator("type_fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical fields: {', '.join(unknown)}")
        return value

    @property
    def base_url(self) -> str:
        """The account URL without a trailing slash."""
        return str(self.domain_url).rstrip("/")
