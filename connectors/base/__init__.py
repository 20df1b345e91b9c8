"""The connector framework: Connector and Stream bases, canonical records, errors."""

from connectors.base.canonical import (
    CanonicalApplication,
    CanonicalAuditEvent,
    CanonicalChange,
    CanonicalDeployment,
    CanonicalDevice,
    CanonicalGroup,
    CanonicalRecord,
    CanonicalRelationship,
    CanonicalUser,
)
from connectors.base.connector import ConnectionTestResult, Connector, FieldInfo, StreamInfo
from connectors.base.errors import (
    ConfigError,
    FatalSourceError,
    PipError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    TransientSourceError,
)
from connectors.base.http import JsonResponse, RetryPolicy, SourceClient
from connectors.base.itsm import ChangeCreator, ChangeIntent, CreatedChange
from connectors.base.oauth_client import BearerAuth, TokenCache, TokenGrant
from connectors.base.paginators import (
    CursorTokenPaginator,
    DeltaLinkPaginator,
    JsonNextLinkPaginator,
    LinkHeaderPaginator,
    NextRequest,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
)
from connectors.base.registry import (
    ConnectorLoadError,
    get_connector_class,
    load_connectors,
    parse_config,
)
from connectors.base.rest import RestConnector, RestStream
from connectors.base.stream import Page, Stream, SyncContext, SyncMode
from connectors.base.types import Category, EntityKind, Sensitivity

__all__ = [
    "BearerAuth",
    "CanonicalApplication",
    "CanonicalAuditEvent",
    "CanonicalChange",
    "CanonicalDeployment",
    "CanonicalDevice",
    "CanonicalGroup",
    "CanonicalRecord",
    "CanonicalRelationship",
    "CanonicalUser",
    "Category",
    "ChangeCreator",
    "ChangeIntent",
    "ConfigError",
    "ConnectionTestResult",
    "Connector",
    "ConnectorLoadError",
    "CreatedChange",
    "CursorTokenPaginator",
    "DeltaLinkPaginator",
    "EntityKind",
    "FatalSourceError",
    "FieldInfo",
    "JsonNextLinkPaginator",
    "JsonResponse",
    "LinkHeaderPaginator",
    "NextRequest",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "Paginator",
    "PipError",
    "RateLimitedError",
    "RestConnector",
    "RestStream",
    "RetryPolicy",
    "Sensitivity",
    "SourceAuthError",
    "SourceClient",
    "SourceError",
    "Stream",
    "StreamInfo",
    "SyncContext",
    "SyncMode",
    "TokenCache",
    "TokenGrant",
    "TransientSourceError",
    "get_connector_class",
    "load_connectors",
    "parse_config",
]
