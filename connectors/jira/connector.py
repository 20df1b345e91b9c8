"""The Jira Service Management connector: Assets devices and their references, change issues."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from connectors.base.auth import OAuthConnectable
from connectors.base.connector import ConnectionTestResult, FieldInfo, StreamInfo
from connectors.base.errors import ConfigError, FatalSourceError, PipError
from connectors.base.http import RetryPolicy, SourceClient
from connectors.base.itsm import ChangeIntent, CreatedChange
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category, Sensitivity
from connectors.jira.assets import Schema, aql_for, aql_pages, device, discover_schema
from connectors.jira.config import JiraConfig
from connectors.jira.create import ChangeWriter, check
from connectors.jira.streams import ChangesStream, ObjectsStream, RelationshipsStream

logger = logging.getLogger(__name__)

ONCE = RetryPolicy(max_attempts=1)


class JiraConnector(OAuthConnectable, RestConnector[JiraConfig]):
    """Jira Service Management Cloud with Assets.

    Auth is the account's email and an API token (basic), or OAuth 2.0 (3LO)
    through the PIP's connect flow: requests then go to
    ``{api_gateway_url}/ex/jira/{cloud_id}`` with the bearer token, the cloud
    id configured or found through ``/oauth/token/accessible-resources``.
    Assets object types and attributes are discovered and mapped by name
    through the connection's attribute mapping; change issues come from JQL
    search, approvals from the Service Management request approvals API. It
    can also create changes (:class:`connectors.base.itsm.ChangeCreator`).
    """

    slug = "jira_service_management"
    title = "Jira Service Management"
    category = Category.ITSM
    config_model = JiraConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (
        ObjectsStream,
        RelationshipsStream,
        ChangesStream,
    )
    default_interval = timedelta(minutes=30)
    oauth_providers: ClassVar[tuple[str, ...]] = ("atlassian",)
    _schema: Schema | None = None
    _keys: dict[str, str] | None = None
    _cloud_id: str | None = None

    def base_url(self) -> str:
        """The Jira REST root: the site (basic) or the gateway's ``ex/jira`` path (OAuth)."""
        if self.config.auth_method == "basic":
            return self.config.site
        cloud_id = self.config.cloud_id or self._cloud_id
        if cloud_id is None:
            raise ConfigError("the Jira cloud id is not known yet", field="cloud_id")
        return f"{self.config.gateway}/ex/jira/{cloud_id}"

    async def jira_base(self) -> str:
        """The Jira REST root, finding the cloud id first when OAuth needs it."""
        if self.config.auth_method == "oauth" and not (self.config.cloud_id or self._cloud_id):
            self._cloud_id = await self._discover_cloud_id()
        return self.base_url()

    async def _discover_cloud_id(self) -> str:
        url = f"{self.config.gateway}/oauth/token/accessible-resources"
        body = (await self.source_client.get_json(url)).body
        rows = body if isinstance(body, list) else []
        site = self.config.site.lower()
        for row in rows:
            if isinstance(row, dict) and str(row.get("url", "")).rstrip("/").lower() == site:
                return str(row["id"])
        raise ConfigError(
            f"the OAuth grant gives no access to {self.config.site} "
            f"({len(rows)} accessible sites); connect again with this site chosen",
            field="site_url",
        )

    def auth(self) -> httpx.Auth:
        """Email and API token, or the connect flow's bearer token."""
        if self.config.auth_method == "oauth":
            bearer = self.bearer_auth()
            if bearer is None:
                raise ConfigError(
                    "connect the connection through OAuth (provider atlassian) first",
                    field="auth_method",
                )
            return bearer
        assert self.config.email is not None and self.config.api_token is not None
        return httpx.BasicAuth(self.config.email, self.config.api_token.get_secret_value())

    def get_streams(self) -> list[Stream]:
        """The streams the connection reads (relationships and changes can be turned off)."""
        off: dict[type[Stream], bool] = {
            RelationshipsStream: not self.config.read_relationships,
            ChangesStream: not self.config.read_changes,
        }
        return [stream(self) for stream in self.streams if not off.get(stream, False)]

    async def schema(self) -> Schema:
        """The Assets object types and the device types' attributes (discovered once)."""
        if self._schema is None:
            self._schema = await discover_schema(self.source_client, self.config)
        return self._schema

    def remember_keys(self, keys: dict[str, str]) -> None:
        """Device keys by object id, from a complete read of the device objects."""
        self._keys = dict(keys)

    async def device_keys(self) -> dict[str, str]:
        """Device keys by object id (read once when no stream has read them yet)."""
        if self._keys is None:
            schema, keys = await self.schema(), {}
            async for rows in aql_pages(
                self.source_client, self.config, aql_for(schema, self.config)
            ):
                keys.update({str(r["id"]): device(r, schema, self.config).key for r in rows})
            self._keys = keys
        return self._keys

    async def approvals(self, key: str) -> list[dict[str, Any]]:
        """Every approval of a request (``start``/``limit`` paging until ``isLastPage``)."""
        url = f"{await self.jira_base()}/rest/servicedeskapi/request/{key}/approval"
        start, found = 0, list[dict[str, Any]]()
        while True:
            body = (
                await self.source_client.get_json(url, params={"start": start, "limit": 50})
            ).body
            rows = body.get("values") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise FatalSourceError(
                    f"Jira Service Management answered without approvals for {key}"
                )
            found.extend(row for row in rows if isinstance(row, dict))
            if body.get("isLastPage", True) or not rows:
                return found
            start += len(rows)

    async def create_change(self, intent: ChangeIntent) -> CreatedChange:
        """Create the change for ``intent`` (or find the one an earlier attempt made)."""
        check(intent, self.config)
        base = await self.jira_base()
        writer = SourceClient(
            self._http(), source=self.title, auth=self.auth(), policy=ONCE, sleep=self._sleep
        )
        return await ChangeWriter(
            base, self.config, self.source_client, writer, self._sleep
        ).create(intent)

    async def discover(self) -> list[StreamInfo]:
        """The streams; the objects stream lists every attribute of the device object types.

        When the Assets schema cannot be read, the streams are listed without them
        (``test_connection`` reports why).
        """
        infos = await super().discover()
        try:
            schema = await self.schema()
        except PipError as err:
            logger.warning("Assets attributes could not be discovered: %s", err)
            return infos
        mapped = {
            name: field for field, name in self.config.attributes.model_dump().items() if name
        }
        extra = [
            FieldInfo(
                name=f"{schema.types[type_id]}.{name}",
                type=f"assets attribute {attr_id}",
                sensitivity=Sensitivity.CONFIDENTIAL
                if mapped.get(name) == "owner"
                else Sensitivity.INTERNAL,
                description=f"mapped to {mapped[name]}" if name in mapped else "not mapped",
            )
            for type_id, attributes in schema.attributes.items()
            for attr_id, name in attributes.items()
        ]
        return [
            StreamInfo(i.name, i.entity, i.primary_key, i.replication_key, [*i.fields, *extra])
            if i.name == ObjectsStream.name
            else i
            for i in infos
        ]

    async def test_connection(self) -> ConnectionTestResult:
        """Read the Assets schema and search one change issue."""
        began, checked = time.perf_counter(), ["read Assets schemas"]
        try:
            await self.schema()
            checked.append("search change issues")
            await self.source_client.get_json(
                f"{await self.jira_base()}/rest/api/3/search/jql",
                params={"jql": self.config.change_jql, "maxResults": 1, "fields": "updated"},
            )
        except PipError as err:
            return ConnectionTestResult(
                ok=False, message=err.message, error_code=err.code,
                latency_ms=_ms_since(began), checked=checked, missing=[checked[-1]],
            )  # fmt: skip
        return ConnectionTestResult(
            ok=True, message="Read the Assets schema and searched change issues",
            latency_ms=_ms_since(began), checked=checked,
        )  # fmt: skip


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)
