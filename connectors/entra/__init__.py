"""Microsoft Entra ID connector: users, groups (nested membership) and devices via Graph."""

from connectors.entra.config import EntraConfig
from connectors.entra.connector import EntraConnector

__all__ = ["EntraConfig", "EntraConnector"]
