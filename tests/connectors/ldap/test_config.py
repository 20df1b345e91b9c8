"""Bad configuration is refused up front with a clear message and no secret in it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.ldap import LdapConfig, LdapConnector

SECRET = "Very-Secret-Bind-Pw"


def _config(**overrides: Any) -> LdapConfig:
    values: dict[str, Any] = {
        "url": "ldaps://dc1.corp.example.com",
        "bind_dn": "CN=svc-pip,OU=Service,DC=corp,DC=example,DC=com",
        "bind_password": SECRET,
        "base_dn": "DC=corp,DC=example,DC=com",
    }
    values.update(overrides)
    return LdapConfig.model_validate(values)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"url": "http://dc1"}, "ldap://host"),
        ({"url": "ldap://dc1:notaport"}, "port"),
        ({"users_filter": "(&(objectClass=user)"}, "not a valid LDAP filter"),
        ({"groups_filter": "objectClass=group"}, "not a valid LDAP filter"),
        ({"start_tls": True}, "already TLS"),
        ({"bind_password": None}, "bind_password is required"),
        ({"ca_cert_pem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}, "PEM"),
        ({"page_size": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_config_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _config(**overrides)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_defaults_follow_active_directory() -> None:
    config = _config()
    assert config.port == 636 and config.verify_tls is True and config.page_size == 500
    assert (
        config.search_filter("users", "active_directory")
        == "(&(objectCategory=person)(objectClass=user))"
    )
    assert config.search_filter("users", "openldap") == "(objectClass=inetOrgPerson)"
    assert config.search_base("groups") == "DC=corp,DC=example,DC=com"
    assert SECRET not in repr(config) and SECRET not in config.model_dump_json()


def test_the_password_is_the_secret_field_and_the_schema_has_titles() -> None:
    assert LdapConnector.secret_fields() == ["bind_password"]
    schema = LdapConnector.config_schema()
    assert schema["properties"]["page_size"]["title"] == "Page size"
    assert LdapConnector.slug == "ldap" and LdapConnector.category == "identity"
