"""ServiceNow connector: CMDB computers through the Table API (basic auth)."""

from connectors.servicenow.config import ServiceNowConfig
from connectors.servicenow.connector import ServiceNowConnector

__all__ = ["ServiceNowConfig", "ServiceNowConnector"]
