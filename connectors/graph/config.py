"""Settings shared by every Microsoft Graph connection (Entra ID now, Intune later)."""

from __future__ import annotations

import re

from cryptography import x509
from pydantic import AnyHttpUrl, BaseModel, Field, SecretStr, ValidationInfo, field_validator

from connectors.base.config import SECRET_SCHEMA, SecureUrl
from connectors.graph.certificates import Certificate, load_certificate, load_rsa_key

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class GraphConfig(BaseModel):
    """An app registration reading Microsoft Graph with application permissions."""

    tenant_id: str = Field(
        title="Tenant ID", description="Directory (tenant) ID, a GUID, or a verified domain name"
    )
    client_id: str = Field(title="Application (client) ID", description="The app registration's ID")
    certificate_pem: str | None = Field(
        default=None,
        title="Certificate (PEM)",
        description="Public certificate uploaded to the app registration; use with a private key",
    )
    private_key_pem: SecretStr | None = Field(
        default=None,
        title="Certificate private key (PEM)",
        description="Unencrypted RSA private key of the certificate",
        validate_default=True,
        json_schema_extra=SECRET_SCHEMA,
    )
    client_secret: SecretStr | None = Field(
        default=None,
        title="Client secret",
        description="A client secret value; leave empty when using a certificate",
        validate_default=True,
        json_schema_extra=SECRET_SCHEMA,
    )
    authority_url: SecureUrl = Field(
        default=AnyHttpUrl("https://login.microsoftonline.com"),
        title="Authority",
        description="Microsoft identity platform host (national clouds differ)",
    )
    graph_url: SecureUrl = Field(
        default=AnyHttpUrl("https://graph.microsoft.com"),
        title="Graph endpoint",
        description="Microsoft Graph host (national clouds differ)",
    )
    page_size: int = Field(
        default=999, ge=1, le=999, title="Page size", description="$top for list requests"
    )

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        if not (_GUID.match(value) or _DOMAIN.match(value)):
            raise ValueError("must be a tenant GUID or a domain name such as contoso.com")
        return value

    @field_validator("client_id")
    @classmethod
    def _client(cls, value: str) -> str:
        if not _GUID.match(value):
            raise ValueError("must be the application (client) ID, a GUID")
        return value

    @field_validator("certificate_pem")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                x509.load_pem_x509_certificate(value.encode())
            except ValueError as err:
                raise ValueError("is not a PEM X.509 certificate") from err
        return value

    @field_validator("private_key_pem")
    @classmethod
    def _key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        certificate = info.data.get("certificate_pem")
        if "certificate_pem" not in info.data:
            return value  # the certificate itself was invalid; reported there
        if (value is None) != (certificate is None):
            raise ValueError("a certificate and its private key go together: give both or neither")
        if value is not None and certificate is not None:
            load_rsa_key(value.get_secret_value())
            load_certificate(certificate, value.get_secret_value())
        return value

    @field_validator("client_secret")
    @classmethod
    def _one_credential(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        has_certificate = info.data.get("private_key_pem") is not None
        if value is None and not has_certificate:
            raise ValueError("required unless a certificate and its private key are given")
        if value is not None and has_certificate:
            raise ValueError("give a client secret or a certificate, not both")
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    def certificate(self) -> Certificate | None:
        """The parsed certificate credential, when one is configured."""
        if self.certificate_pem is None or self.private_key_pem is None:
            return None
        return load_certificate(self.certificate_pem, self.private_key_pem.get_secret_value())

    def root(self, url: AnyHttpUrl) -> str:
        """A configured host URL without a trailing slash."""
        return str(url).rstrip("/")
