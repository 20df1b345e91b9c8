"""Connection settings of an Apple Business Manager (or Apple School Manager) API account."""

from __future__ import annotations

from typing import Literal

from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.base.config import SECRET_SCHEMA, SecureUrl

BUSINESS_API = "https://api-business.apple.com"
TOKEN_URL = "https://account.apple.com/auth/oauth2/token"
AUDIENCE = "https://account.apple.com/auth/oauth2/v2/token"


class AbmConfig(BaseModel):
    """An API account created in Apple Business Manager (Preferences > API)."""

    model_config = ConfigDict(extra="forbid", title="Apple Business Manager")

    client_id: str = Field(
        min_length=1, title="Client ID", description="e.g. BUSINESSAPI.9703f56c-..."
    )
    key_id: str = Field(min_length=1, title="Key ID", description="The API key's id (the kid)")
    private_key: SecretStr = Field(
        title="Private key",
        description="The EC P-256 private key downloaded with the API key (PEM)",
        json_schema_extra=SECRET_SCHEMA,
    )
    scope: Literal["business.api", "school.api"] = Field(
        default="business.api",
        title="Scope",
        description="business.api (Apple Business Manager) or school.api (Apple School Manager)",
    )
    api_url: SecureUrl = Field(
        default=AnyHttpUrl(BUSINESS_API),
        title="API URL",
        description="https://api-business.apple.com or https://api-school.apple.com",
    )
    token_url: SecureUrl = Field(default=AnyHttpUrl(TOKEN_URL), title="Token endpoint")
    audience: str = Field(
        default=AUDIENCE, title="Assertion audience", description="The client assertion's aud"
    )
    page_size: int = Field(
        default=1000, ge=1, le=1000, title="Page size", description="Devices per request (limit)"
    )

    @field_validator("private_key")
    @classmethod
    def _ec_p256(cls, value: SecretStr) -> SecretStr:
        load_private_key(value)
        return value

    @property
    def base_url(self) -> str:
        """The API URL without a trailing slash."""
        return str(self.api_url).rstrip("/")


def load_private_key(value: SecretStr) -> ECKey:
    """The EC P-256 key from PEM; ValueError (never showing the key) when it is not one."""
    try:
        key = ECKey.import_key(value.get_secret_value().strip())
    except (JoseError, ValueError, TypeError) as err:
        raise ValueError("is not a PEM EC private key") from err
    if key.as_dict().get("crv") != "P-256" or not key.is_private:
        raise ValueError("must be an EC P-256 private key (ES256)")
    return key
