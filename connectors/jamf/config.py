"""Connection settings of a Jamf Pro server, including how its devices' compliance is read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.base.config import SECRET_SCHEMA, SecureUrl, filled


class JamfComplianceSettings(BaseModel):
    """How a Jamf device's compliance is decided: smart groups or an extension attribute."""

    model_config = ConfigDict(extra="forbid", title="Compliance mapping")

    source: Literal["none", "smart_group", "extension_attribute"] = Field(
        default="none",
        title="Compliance from",
        description="none: Jamf reports no compliance; smart_group: membership of the groups "
        "below; extension_attribute: the value of the extension attribute below",
    )
    compliant_group: str | None = Field(
        default=None,
        title="Compliant smart group",
        description="Devices outside this smart group are noncompliant",
    )
    noncompliant_groups: list[str] = Field(
        default_factory=list,
        title="Noncompliant smart groups",
        description="Membership of any makes a device noncompliant (the group is the reason)",
    )
    extension_attribute: str | None = Field(
        default=None, title="Extension attribute", description="Its name, e.g. 'Compliance'"
    )
    compliant_values: list[str] = Field(
        default_factory=lambda: ["compliant"],
        title="Compliant values",
        description="Extension attribute values (case-insensitive) that mean compliant; any "
        "other value is noncompliant, no value is unknown",
    )

    @model_validator(mode="after")
    def _complete(self) -> JamfComplianceSettings:
        groups = self.compliant_group or self.noncompliant_groups
        if self.source == "smart_group" and not groups:
            raise ValueError("smart_group compliance needs compliant_group or noncompliant_groups")
        if self.source == "extension_attribute" and not self.extension_attribute:
            raise ValueError("extension_attribute compliance needs extension_attribute")
        return self


class JamfConfig(BaseModel):
    """How to reach one Jamf Pro server and what to read from it."""

    model_config = ConfigDict(
        extra="forbid", title="Jamf Pro", json_schema_extra=lambda s: _title_refs(s)
    )

    server_url: SecureUrl = Field(
        title="Server URL",
        description="e.g. https://acme.jamfcloud.com (https; plain http only on loopback)",
    )
    auth_method: Literal["client_credentials", "password"] = Field(
        default="client_credentials",
        title="Authentication",
        description="client_credentials: an API client (Settings > API Roles and Clients); "
        "password: a standard Jamf Pro account exchanged for a bearer token",
    )
    client_id: str | None = Field(default=None, validate_default=True, title="API client id")
    client_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        title="API client secret",
        json_schema_extra=SECRET_SCHEMA,
    )
    username: str | None = Field(default=None, validate_default=True, title="Username")
    password: SecretStr | None = Field(
        default=None, validate_default=True, title="Password", json_schema_extra=SECRET_SCHEMA
    )
    read_mobile_devices: bool = Field(
        default=True, title="Mobile devices", description="Also read iPhones, iPads and Apple TVs"
    )
    compliance: JamfComplianceSettings = Field(
        default_factory=JamfComplianceSettings,
        title="Compliance mapping",
    )
    page_size: int = Field(
        default=500, ge=1, le=2000, title="Page size", description="Devices per request"
    )

    @field_validator("client_id", "client_secret")
    @classmethod
    def _client_when_needed(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("auth_method") == "client_credentials" and not filled(value):
            raise ValueError("is required for API client credentials")
        return value

    @field_validator("username", "password")
    @classmethod
    def _user_when_needed(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("auth_method") == "password" and not filled(value):
            raise ValueError("is required for password authentication")
        return value

    @property
    def base_url(self) -> str:
        """The server URL without a trailing slash."""
        return str(self.server_url).rstrip("/")


def _title_refs(schema: dict[str, Any]) -> None:
    """Nested models are ``$ref`` properties; give them their field title for the form."""
    for name, spec in schema.get("properties", {}).items():
        if "$ref" in spec and "title" not in spec:
            spec["title"] = JamfConfig.model_fields[name].title
