"""Configuration of an LDAP / Active Directory connection."""

from __future__ import annotations

import ssl
from typing import Literal
from urllib.parse import urlsplit

from ldap3.core.exceptions import LDAPInvalidFilterError
from ldap3.operation.search import parse_filter
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

Flavor = Literal["active_directory", "openldap"]

DEFAULT_FILTERS: dict[Flavor, dict[str, str]] = {
    "active_directory": {
        "users": "(&(objectCategory=person)(objectClass=user))",
        "groups": "(objectClass=group)",
        "computers": "(objectClass=computer)",
    },
    "openldap": {
        "users": "(objectClass=inetOrgPerson)",
        "groups": "(|(objectClass=group)(objectClass=groupOfNames))",
        "computers": "(objectClass=computer)",
    },
}


class UserAttributes(BaseModel):
    """Which LDAP attributes feed each user field; the first one with a value wins."""

    model_config = ConfigDict(extra="forbid")

    username: list[str] = Field(default=["sAMAccountName", "uid"], min_length=1)
    upn: list[str] = Field(default=["userPrincipalName"], min_length=1)
    email: list[str] = Field(default=["mail"], min_length=1)
    display_name: list[str] = Field(default=["displayName", "cn"], min_length=1)
    given_name: list[str] = Field(default=["givenName"], min_length=1)
    family_name: list[str] = Field(default=["sn"], min_length=1)
    department: list[str] = Field(default=["department", "departmentNumber"], min_length=1)
    job_title: list[str] = Field(default=["title"], min_length=1)
    location: list[str] = Field(default=["physicalDeliveryOfficeName", "l"], min_length=1)
    employee_id: list[str] = Field(default=["employeeID", "employeeNumber"], min_length=1)
    phone: list[str] = Field(default=["telephoneNumber"], min_length=1)

    def all_names(self) -> list[str]:
        """Every attribute named here, for the search's attribute list."""
        return [name for names in self.model_dump().values() for name in names]


class LdapConfig(BaseModel):
    """How to reach the directory and what to read from it."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        title="Server URL",
        description="ldap://host[:port] or ldaps://host[:port]",
        examples=["ldaps://dc1.corp.example.com"],
    )
    start_tls: bool = Field(False, title="StartTLS", description="Upgrade ldap:// with StartTLS")
    verify_tls: bool = Field(
        True, title="Verify certificate", description="Check the server certificate and host name"
    )
    ca_cert_pem: str | None = Field(
        None, title="CA certificate (PEM)", description="CA that signed the server certificate"
    )
    ca_cert_file: str | None = Field(
        None, title="CA certificate file", description="Path of a PEM file with the CA"
    )
    bind_dn: str | None = Field(
        None, title="Bind DN", description="Service account DN (or user@domain on AD)"
    )
    bind_password: SecretStr | None = Field(
        None,
        title="Bind password",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )
    base_dn: str = Field(title="Base DN", examples=["dc=corp,dc=example,dc=com"])
    users_base: str | None = Field(None, title="Users search base", description="Default: base DN")
    users_filter: str | None = Field(None, title="Users filter", description="Default per flavor")
    groups_base: str | None = Field(None, title="Groups search base")
    groups_filter: str | None = Field(None, title="Groups filter")
    computers_base: str | None = Field(None, title="Computers search base")
    computers_filter: str | None = Field(None, title="Computers filter")
    page_size: int = Field(500, ge=1, le=10_000, title="Page size", description="RFC 2696 page")
    directory_flavor: Literal["auto", "active_directory", "openldap"] = Field(
        "auto", title="Directory", description="auto: detected from the root DSE"
    )
    group_key_attribute: Literal["cn", "sAMAccountName"] = Field(
        "cn", title="Group key", description="Attribute whose lower-cased value keys a group"
    )
    user_attributes: UserAttributes = Field(
        default_factory=UserAttributes,
        title="User attribute mapping",
        description="LDAP attributes per user field; the first with a value wins",
    )
    timeout_seconds: float = Field(30.0, gt=0, le=600, title="Timeout (s)")
    cursor_overlap_seconds: int = Field(
        60,
        ge=0,
        le=86_400,
        title="Incremental overlap (s)",
        description="Re-read changes this far before the cursor, to absorb clock skew",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError("url must look like ldap://host[:port] or ldaps://host[:port]")
        _ = parts.port  # raises ValueError for a bad port
        return value.strip()

    @field_validator("users_filter", "groups_filter", "computers_filter")
    @classmethod
    def _check_filter(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_filter(value, None, True, True, None, False)
        except LDAPInvalidFilterError as err:
            raise ValueError(f"not a valid LDAP filter: {value!r}") from err
        return value

    @field_validator("ca_cert_pem")
    @classmethod
    def _check_ca(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError) as err:
            raise ValueError("ca_cert_pem is not a PEM certificate") from err
        return value

    @model_validator(mode="after")
    def _check_combinations(self) -> LdapConfig:
        if self.start_tls and self.uses_ldaps:
            raise ValueError("start_tls applies to ldap:// URLs; ldaps:// is already TLS")
        if self.bind_dn and not (self.bind_password and self.bind_password.get_secret_value()):
            raise ValueError("bind_password is required with bind_dn")
        return self

    @property
    def uses_ldaps(self) -> bool:
        """Whether the URL is ldaps://."""
        return urlsplit(self.url).scheme == "ldaps"

    @property
    def host(self) -> str:
        """The server's host name or address."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The server's port (389 / 636 by default)."""
        return urlsplit(self.url).port or (636 if self.uses_ldaps else 389)

    def search_base(self, stream: str) -> str:
        """The search base of a stream (users, groups, computers)."""
        base: str | None = getattr(self, f"{stream}_base")
        return base or self.base_dn

    def search_filter(self, stream: str, flavor: Flavor) -> str:
        """The filter of a stream: the configured one, else the flavor's default."""
        configured: str | None = getattr(self, f"{stream}_filter")
        return configured or DEFAULT_FILTERS[flavor][stream]
