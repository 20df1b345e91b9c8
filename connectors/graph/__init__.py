"""Microsoft Graph plumbing shared by the Entra ID and (later) Intune connectors."""

from connectors.base.client_assertion import PrivateKeyJwt
from connectors.graph.config import GraphConfig
from connectors.graph.connector import GraphConnector
from connectors.graph.paging import DeltaPage, GraphReader
from connectors.graph.streams import GraphStream

__all__ = [
    "DeltaPage",
    "GraphConfig",
    "GraphConnector",
    "GraphReader",
    "GraphStream",
    "PrivateKeyJwt",
]
