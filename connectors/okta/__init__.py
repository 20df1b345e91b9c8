"""Okta connector: users and groups, API token or OAuth 2.0 service app."""

from connectors.okta.config import OktaConfig
from connectors.okta.connector import OktaConnector

__all__ = ["OktaConfig", "OktaConnector"]
