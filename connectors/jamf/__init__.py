"""Jamf Pro connector: computers and mobile devices through the Jamf Pro API."""

from connectors.jamf.config import JamfComplianceSettings, JamfConfig
from connectors.jamf.connector import JamfConnector

__all__ = ["JamfComplianceSettings", "JamfConfig", "JamfConnector"]
