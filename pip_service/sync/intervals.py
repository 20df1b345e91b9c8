"""How often a connection syncs: its own interval, else its source type's default, within its TTL.

Defaults per source type follow the integration plan (seed 000, "Sync frequency").
The interval never exceeds ``refresh_ahead_ratio`` of the TTL of the most
sensitive data the connection feeds, so documents are refreshed before they go
stale (restricted fields count only when the connection includes them).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.base.connector import Connector
from connectors.base.types import Sensitivity
from pip_service.config import Settings
from pip_service.connections.models import Connection

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
MIN_INTERVAL = timedelta(seconds=10)

SEED_DEFAULT_INTERVALS: dict[str, timedelta] = {
    # identity: Entra ID every hour, on-premises AD/LDAP every 4 hours
    "entra": HOUR, "entra_id": HOUR, "azure_ad": HOUR,
    "ldap": 4 * HOUR, "active_directory": 4 * HOUR,
    # other identity providers: not in the plan, synced like Entra ID
    "okta": HOUR, "google_workspace": HOUR, "auth0": HOUR,
    # CMDB: ServiceNow every 30 minutes, Jira Assets hourly
    "servicenow": 30 * MINUTE, "servicenow_cmdb": 30 * MINUTE, "jira_assets": HOUR,
    "freshservice": HOUR,
    # ITSM: ServiceNow changes polled every 5 minutes (webhooks do the rest)
    "servicenow_itsm": 5 * MINUTE, "jira_service_management": 5 * MINUTE,
    # MDM and endpoint management
    "intune": 15 * MINUTE, "jamf": 15 * MINUTE, "jamf_pro": 15 * MINUTE,
    "sccm": 30 * MINUTE, "landscape": HOUR, "defender": HOUR,
    "abm": 6 * HOUR, "apple_business_manager": 6 * HOUR, "android_enterprise": 6 * HOUR,
}  # fmt: skip


def default_interval(connector_class: type[Connector[Any]]) -> timedelta:
    """The plan's interval for the connector's source type, else the class's own default."""
    return SEED_DEFAULT_INTERVALS.get(connector_class.slug, connector_class.default_interval)


def feed_sensitivity(
    connector_class: type[Connector[Any]], *, include_restricted: bool
) -> Sensitivity:
    """The most sensitive field the connection puts into documents."""
    levels = [
        level
        for stream in connector_class.streams
        for level in stream.sensitivities().values()
        if include_restricted or level < Sensitivity.RESTRICTED
    ]
    return max(levels, default=Sensitivity.PUBLIC)


def ttl_of(settings: Settings, sensitivity: Sensitivity) -> timedelta:
    """The cache TTL configured for a sensitivity (``PIP_TTL_<LEVEL>``)."""
    return timedelta(seconds=int(getattr(settings, f"ttl_{sensitivity.label}")))


def effective_interval(
    connection: Connection, connector_class: type[Connector[Any]], settings: Settings
) -> timedelta:
    """The interval the scheduler uses: configured or default, capped to refresh ahead of expiry."""
    wanted = (
        timedelta(seconds=connection.interval_seconds)
        if connection.interval_seconds
        else default_interval(connector_class)
    )
    sensitivity = feed_sensitivity(
        connector_class, include_restricted=bool(connection.include_restricted)
    )
    ceiling = ttl_of(settings, sensitivity) * settings.refresh_ahead_ratio
    return max(min(wanted, ceiling), MIN_INTERVAL)
