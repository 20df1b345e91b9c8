"""Connection settings of a Jira Service Management site with Assets."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from connectors.base.config import SECRET_SCHEMA, RootUrl

_FIELD_ID = re.compile(r"^(customfield_\d+|[a-z]+)$")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


class AttributeMapping(BaseModel):
    """Which Assets attribute (by name) holds each device field; None: not mapped."""

    model_config = ConfigDict(extra="forbid", title="Assets attribute mapping")

    serial_number: str | None = Field(default="Serial Number", title="Serial number")
    asset_tag: str | None = Field(default="Asset Tag", title="Asset tag")
    hostname: str | None = Field(default="Hostname", title="Host name")
    os: str | None = Field(default="Operating System", title="Operating system")
    os_version: str | None = Field(default="OS Version", title="OS version")
    manufacturer: str | None = Field(default="Manufacturer", title="Manufacturer")
    model: str | None = Field(default="Model", title="Model")
    location: str | None = Field(default="Location", title="Location")
    owner: str | None = Field(default="Owner", title="Owner (user attribute)")
    status: str | None = Field(default="Status", title="Status (status attribute)")


class ChangeFieldMapping(BaseModel):
    """Which Jira fields (ids such as ``customfield_10041``) hold the change's facts."""

    model_config = ConfigDict(extra="forbid", title="Change field mapping")

    risk: str | None = Field(default=None, title="Change risk field")
    impact: str | None = Field(default=None, title="Impact field")
    change_type: str | None = Field(default=None, title="Change type field")
    planned_start: str | None = Field(default=None, title="Planned start field")
    planned_end: str | None = Field(default=None, title="Planned end field")
    affected_assets: str | None = Field(default=None, title="Affected assets (Assets) field")

    @field_validator("*")
    @classmethod
    def _field_id(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD_ID.match(value):
            raise ValueError("must be a Jira field id such as customfield_10041")
        return value


class JiraConfig(BaseModel):
    """How to reach one Jira Cloud site and its Assets workspace, and how to read them."""

    model_config = ConfigDict(extra="forbid", title="Jira Service Management")

    site_url: RootUrl = Field(title="Site URL", description="e.g. https://acme.atlassian.net")
    assets_api_url: RootUrl = Field(
        default=AnyHttpUrl("https://api.atlassian.com"),
        title="Assets API URL",
        description="Where the Assets REST API lives (api.atlassian.com on Cloud)",
    )
    workspace_id: str = Field(
        title="Assets workspace id",
        description="From GET /rest/servicedeskapi/assets/workspace",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
    )
    auth_method: Literal["basic", "oauth"] = Field(
        default="basic",
        title="Authentication",
        description="basic: email + API token; oauth: OAuth 2.0 (3LO) through the connect flow",
    )
    email: str | None = Field(
        default=None,
        validate_default=True,
        title="Account email",
        pattern=r"^[^@\s]+@[^@\s]+$",
    )
    api_token: SecretStr | None = Field(
        default=None,
        validate_default=True,
        title="API token",
        description="An Atlassian API token of the account above (basic auth)",
        json_schema_extra=SECRET_SCHEMA,
    )
    cloud_id: str | None = Field(
        default=None,
        title="Cloud id",
        description="The site's cloud id (OAuth); found through accessible-resources when empty",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
    )
    api_gateway_url: RootUrl = Field(
        default=AnyHttpUrl("https://api.atlassian.com"),
        title="API gateway URL",
        description="Where OAuth requests go (/ex/jira/{cloud_id}, accessible-resources)",
    )
    change_project_key: str | None = Field(
        default=None,
        title="Change project key",
        description="The service project new change requests are created in",
        pattern=r"^[A-Z][A-Z0-9_]{0,254}$",
    )
    change_issue_type_id: str | None = Field(
        default=None,
        title="Change issue type id",
        description="Id of the project's Change issue type",
        pattern=r"^\d{1,18}$",
    )
    device_object_types: list[str] = Field(
        default_factory=lambda: ["Computer", "Laptop", "Server"],
        min_length=1,
        title="Device object types",
        description="Assets object types read as devices",
    )
    attributes: AttributeMapping = Field(default_factory=AttributeMapping, title="Attributes")
    change_jql: str = Field(
        default='issuetype = "Change"',
        min_length=1,
        title="Change JQL",
        description="Selects the change issues (no ORDER BY; the connector orders them)",
    )
    change_fields: ChangeFieldMapping = Field(
        default_factory=ChangeFieldMapping, title="Change fields"
    )
    jql_timezone: str = Field(
        default="UTC",
        title="Account time zone",
        description="The account's profile time zone: JQL dates are read in it",
    )
    read_relationships: bool = Field(default=True, title="Relationships")
    read_changes: bool = Field(default=True, title="Changes")
    page_size: int = Field(default=50, ge=1, le=100, title="Page size")

    @field_validator("email", "api_token")
    @classmethod
    def _basic_needs(cls, value: object, info: ValidationInfo) -> object:
        blank = value is None or (
            isinstance(value, SecretStr) and not value.get_secret_value().strip()
        )
        if blank and (value is not None or info.data.get("auth_method", "basic") == "basic"):
            raise ValueError("is required for basic auth and must not be blank")
        return value

    @field_validator("change_jql")
    @classmethod
    def _no_order(cls, value: str) -> str:
        if _ORDER_BY.search(value):
            raise ValueError("must not contain ORDER BY")
        return value

    @field_validator("jql_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError("is not a known time zone") from err
        return value

    @property
    def site(self) -> str:
        """The site URL without a trailing slash."""
        return str(self.site_url).rstrip("/")

    @property
    def gateway(self) -> str:
        """The API gateway URL without a trailing slash."""
        return str(self.api_gateway_url).rstrip("/")

    @property
    def assets_base(self) -> str:
        """The Assets REST API root of the workspace."""
        root = str(self.assets_api_url).rstrip("/")
        return f"{root}/jsm/assets/workspace/{self.workspace_id}/v1"
