"""LDAP / Active Directory connector (ldap3): users, groups, computers."""

from connectors.ldap.config import LdapConfig
from connectors.ldap.connector import LdapConnector

__all__ = ["LdapConfig", "LdapConnector"]
