"""Apple Business Manager connector: organization devices through the Apple Business API."""

from connectors.abm.config import AbmConfig
from connectors.abm.connector import AbmConnector

__all__ = ["AbmConfig", "AbmConnector"]
