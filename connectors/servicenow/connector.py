"""The ServiceNow connector: CMDB CIs, relationships and change requests through the Table API."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import ClassVar

import httpx
from pydantic import SecretStr

from connectors.base.connector import ConnectionTestResult
from connectors.base.errors import PipError
from connectors.base.http import RetryPolicy, SourceClient
from connectors.base.itsm import ChangeIntent, CreatedChange
from connectors.base.oauth_client import BearerAuth, TokenCache, TokenGrant
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.servicenow.changes import ChangesStream
from connectors.servicenow.config import ServiceNowConfig
from connectors.servicenow.create import ChangeWriter
from connectors.servicenow.streams import ComputersStream, RelationshipsStream
from connectors.servicenow.webhooks import ServiceNowWebhooks

ONCE = RetryPolicy(max_attempts=1)


class ServiceNowConnector(RestConnector[ServiceNowConfig], ServiceNowWebhooks):
    """ServiceNow: computers (``cmdb_ci_*``), ``cmdb_rel_ci`` edges and change requests.

    Auth is basic or OAuth (``/oauth_token.do``, client credentials or password
    grant, the token cached until shortly before it expires). It can also create
    change requests (:class:`connectors.base.itsm.ChangeCreator`).
    """

    slug = "servicenow"
    title = "ServiceNow"
    category = Category.CMDB
    config_model = ServiceNowConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (
        ComputersStream,
        RelationshipsStream,
        ChangesStream,
    )
    default_interval = timedelta(minutes=30)
    _auth: httpx.Auth | None = None

    def base_url(self) -> str:
        """The instance URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """Basic auth with the integration user, or a cached OAuth bearer token."""
        if self._auth is None:
            self._auth = self._oauth() if self.config.auth_method == "oauth" else self._basic()
        return self._auth

    def _basic(self) -> httpx.Auth:
        password = self.config.password.get_secret_value() if self.config.password else ""
        return httpx.BasicAuth(self.config.username or "", password)

    def _oauth(self) -> httpx.Auth:
        config = self.config
        extra: dict[str, SecretStr] = {}
        if config.oauth_grant == "password":
            extra = {
                "username": SecretStr(config.username or ""),
                "password": config.password or SecretStr(""),
            }
        grant = TokenGrant(
            token_url=f"{self.base_url()}/oauth_token.do",
            client_id=config.client_id or "",
            client_secret=config.client_secret or SecretStr(""),
            grant_type=config.oauth_grant,
            extra=extra,
        )
        return BearerAuth(TokenCache(self._http(), grant, source=self.title))

    def get_streams(self) -> list[Stream]:
        """The streams the connection reads (relationships and changes can be turned off)."""
        off: dict[type[Stream], bool] = {
            RelationshipsStream: not self.config.read_relationships,
            ChangesStream: not self.config.read_changes,
        }
        return [stream(self) for stream in self.streams if not off.get(stream, False)]

    async def create_change(self, intent: ChangeIntent) -> CreatedChange:
        """Create the change request for ``intent`` (or find the one a retry already made)."""
        writer = SourceClient(
            self._http(), source=self.title, auth=self.auth(), policy=ONCE, sleep=self._sleep
        )
        return await ChangeWriter(self.base_url(), self.source_client, writer, self._sleep).create(
            intent
        )

    async def test_connection(self) -> ConnectionTestResult:
        """Read one record of every table the connection reads."""
        began = time.perf_counter()
        checked: list[str] = []
        for table in self._tables():
            checked.append(f"read {table}")
            try:
                await self.source_client.get_json(
                    f"{self.base_url()}/api/now/table/{table}",
                    params={"sysparm_limit": 1, "sysparm_fields": "sys_id"},
                )
            except PipError as err:
                return ConnectionTestResult(
                    ok=False,
                    message=err.message,
                    error_code=err.code,
                    latency_ms=_ms_since(began),
                    checked=checked,
                    missing=[f"read {table}"],
                )
        return ConnectionTestResult(
            ok=True,
            message=f"Read {', '.join(self._tables())}",
            latency_ms=_ms_since(began),
            checked=checked,
        )

    def _tables(self) -> list[str]:
        tables = list(self.config.tables)
        if self.config.read_relationships:
            tables.append("cmdb_rel_ci")
        if self.config.read_changes:
            tables += ["change_request", "task_ci", "sysapproval_approver"]
        return tables


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)
