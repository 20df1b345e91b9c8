"""Connection settings of an Okta org."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from connectors.base.config import SECRET_SCHEMA, SecureUrl
from connectors.graph.certificates import load_rsa_key

DEFAULT_SCOPES = ("okta.users.read", "okta.groups.read")


class OktaConfig(BaseModel):
    """An Okta org read with an API token or an OAuth 2.0 service app (private key JWT)."""

    model_config = ConfigDict(extra="forbid", title="Okta")

    org_url: SecureUrl = Field(
        title="Okta org URL",
        description="e.g. https://acme.okta.com (https; http only on loopback)",
    )
    client_id: str | None = Field(
        default=None,
        title="Service app client ID",
        description="OAuth 2.0 service app (Client Credentials, public key / private key auth)",
    )
    private_key_pem: SecretStr | None = Field(
        default=None,
        title="Service app private key (PEM)",
        description="RSA private key whose public JWK is registered on the service app",
        validate_default=True,
        json_schema_extra=SECRET_SCHEMA,
    )
    key_id: str | None = Field(
        default=None, title="Key ID (kid)", description="The kid of the registered public key"
    )
    scopes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SCOPES),
        min_length=1,
        title="Scopes",
        description="Granted okta.* scopes the service app asks for",
    )
    api_token: SecretStr | None = Field(
        default=None,
        title="API token",
        description="SSWS API token of a read-only admin; leave empty for a service app",
        validate_default=True,
        json_schema_extra=SECRET_SCHEMA,
    )
    page_size: int = Field(default=200, ge=1, le=200, title="Page size", description="limit=")
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Event hook secret",
        description="Authentication secret of the Okta event hook pointed at /webhooks/<id>",
        json_schema_extra=SECRET_SCHEMA,
    )
    webhook_header: str = Field(
        default="authorization",
        title="Event hook authentication field",
        description="Header name the event hook sends the secret in",
    )

    @field_validator("private_key_pem")
    @classmethod
    def _key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            load_rsa_key(value.get_secret_value())
            if not info.data.get("client_id"):
                raise ValueError("needs the service app's client ID")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        bad = [scope for scope in value if not scope.startswith("okta.") or " " in scope]
        if bad:
            raise ValueError("must be okta.* scopes such as okta.users.read")
        return value

    @field_validator("api_token")
    @classmethod
    def _one_credential(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        service_app = info.data.get("private_key_pem") is not None
        if value is None and not service_app:
            raise ValueError("required unless a service app client ID and private key are given")
        if value is not None and service_app:
            raise ValueError("give an API token or a service app key, not both")
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @property
    def base_url(self) -> str:
        """The org URL without a trailing slash."""
        return str(self.org_url).rstrip("/")
