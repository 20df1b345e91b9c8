"""Imports every model so Alembic and tests see the whole schema."""

from opal.deliveries import OpalDelivery, OpalPublication
from pip_service.audit.models import AuditEvent
from pip_service.auth.models import ApiToken
from pip_service.changes.models import ChangeRequestLink
from pip_service.connections.models import Connection, StreamCursor
from pip_service.db.base import Base
from pip_service.documents.models import DocumentSnapshot
from pip_service.oauth.models import OAuthClient, OAuthFlow, OAuthToken
from pip_service.records.models import Record
from pip_service.sync.models import SyncRun
from pip_service.webhooks.models import WebhookEventRow

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "ChangeRequestLink",
    "Connection",
    "DocumentSnapshot",
    "OAuthClient",
    "OAuthFlow",
    "OAuthToken",
    "OpalDelivery",
    "OpalPublication",
    "Record",
    "StreamCursor",
    "SyncRun",
    "WebhookEventRow",
]
