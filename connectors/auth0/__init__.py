"""Auth0 connector: users, roles and organizations through the Management API v2."""

from connectors.auth0.config import Auth0Config
from connectors.auth0.connector import Auth0Connector

__all__ = ["Auth0Config", "Auth0Connector"]
