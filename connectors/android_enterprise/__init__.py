"""Android Enterprise connector: devices through the Android Management API."""

from connectors.android_enterprise.config import AndroidEnterpriseConfig
from connectors.android_enterprise.connector import AndroidEnterpriseConnector

__all__ = ["AndroidEnterpriseConfig", "AndroidEnterpriseConnector"]
