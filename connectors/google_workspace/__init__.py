"""Google Workspace connector: users and groups through the Admin SDK Directory API."""

from connectors.google_workspace.config import GoogleWorkspaceConfig
from connectors.google_workspace.connector import GoogleWorkspaceConnector

__all__ = ["GoogleWorkspaceConfig", "GoogleWorkspaceConnector"]
