"""Freshservice connector: assets, relationships and changes through the API v2 (API key)."""

from connectors.freshservice.config import FreshserviceConfig
from connectors.freshservice.connector import FreshserviceConnector

__all__ = ["FreshserviceConfig", "FreshserviceConnector"]
