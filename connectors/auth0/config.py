"""Connection settings of an Auth0 tenant read through the Management API v2."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from connectors.base.config import NonBlankSecret, secure_url

# GET /api/v2/users pages at most 100 users per page (Management API v2 reference).
MAX_PAGE = 100


class Auth0Config(BaseModel):
    """A machine-to-machine application authorized for the Auth0 Management API."""

    model_config = ConfigDict(extra="forbid", title="Auth0")

    domain: str = Field(
        title="Tenant domain",
        description="e.g. acme.eu.auth0.com (https assumed; http only on loopback)",
    )
    client_id: str = Field(
        min_length=1, title="Client ID", description="Machine-to-machine application's client ID"
    )
    client_secret: NonBlankSecret = Field(
        title="Client secret", description="The machine-to-machine application's client secret"
    )
    audience: str | None = Field(
        default=None,
        title="Management API audience",
        description="Default https://<tenant domain>/api/v2/; set it when using a custom domain",
    )
    page_size: int = Field(
        default=MAX_PAGE, ge=1, le=MAX_PAGE, title="Page size", description="per_page / take"
    )
    include_organizations: bool = Field(
        default=True,
        title="Read organizations",
        description="Organizations become groups (turn off on tenants without Organizations)",
    )
    export_timeout: int = Field(
        default=1800,
        ge=10,
        le=86400,
        title="User export timeout (s)",
        description="How long to wait for a users-export job on tenants over 1000 users",
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        if not text or " " in text:
            raise ValueError("must be a host name such as acme.eu.auth0.com")
        url = text if "://" in text else f"https://{text}"
        try:
            parsed = AnyHttpUrl(url)
        except ValueError as err:
            raise ValueError("must be a host name such as acme.eu.auth0.com") from err
        if parsed.path not in (None, "", "/"):
            raise ValueError("must be a host name without a path")
        return str(secure_url(parsed)).rstrip("/")

    @property
    def base_url(self) -> str:
        """The tenant URL without a trailing slash."""
        return self.domain

    @property
    def api_audience(self) -> str:
        """The audience the access token is asked for."""
        return self.audience or f"{self.domain}/api/v2/"
