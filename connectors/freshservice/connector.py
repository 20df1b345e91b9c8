"""The Freshservice connector: device assets, relationships and changes through API v2."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import httpx

from connectors.base.http import RetryPolicy, Sleep, SourceClient
from connectors.base.itsm import ChangeIntent, CreatedChange
from connectors.base.rest import RestConnector
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.freshservice.config import FreshserviceConfig
from connectors.freshservice.create import ChangeWriter
from connectors.freshservice.lookups import Lookups
from connectors.freshservice.streams import AssetsStream, ChangesStream, RelationshipsStream
from connectors.freshservice.throttle import MinuteWindowClient

ONCE = RetryPolicy(max_attempts=1)


class FreshserviceConnector(RestConnector[FreshserviceConfig]):
    """Freshservice: assets of device types, asset relationships and changes with approvals.

    Auth is the API key as the basic-auth username with ``X`` as the password.
    ``X-Ratelimit-Remaining: 0`` makes the next request wait for the window and
    a 429's ``Retry-After`` is waited (:class:`connectors.base.http.SourceClient`).
    It can also create changes (:class:`connectors.base.itsm.ChangeCreator`).
    """

    slug = "freshservice"
    title = "Freshservice"
    category = Category.ITSM
    config_model = FreshserviceConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (AssetsStream, RelationshipsStream, ChangesStream)
    default_interval = timedelta(minutes=30)

    def __init__(
        self,
        config: FreshserviceConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(config, http_client=http_client, sleep=sleep)
        self._lookups: Lookups | None = None

    @property
    def source_client(self) -> SourceClient:
        """The connection's SourceClient, pausing when the minute's budget is used up."""
        if self._source_client is None:
            self._source_client = MinuteWindowClient(
                self._http(),
                source=self.title,
                auth=self.auth(),
                policy=self.retry_policy,
                max_concurrency=self.max_concurrency,
                sleep=self._sleep,
            )
        return self._source_client

    @property
    def lookups(self) -> Lookups:
        """Caches of asset types, people, locations and asset keys for this connector."""
        if self._lookups is None:
            self._lookups = Lookups(self.source_client, self.config)
        return self._lookups

    def base_url(self) -> str:
        """The account URL."""
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        """The API key as the username, ``X`` as the password."""
        return httpx.BasicAuth(self.config.api_key.get_secret_value(), "X")

    def get_streams(self) -> list[Stream]:
        """The streams the connection reads (relationships and changes can be turned off)."""
        off: dict[type[Stream], bool] = {
            RelationshipsStream: not self.config.read_relationships,
            ChangesStream: not self.config.read_changes,
        }
        return [stream(self) for stream in self.streams if not off.get(stream, False)]

    async def create_change(self, intent: ChangeIntent) -> CreatedChange:
        """Create the change for ``intent`` (or find the one an earlier attempt made)."""
        writer = SourceClient(
            self._http(), source=self.title, auth=self.auth(), policy=ONCE, sleep=self._sleep
        )
        requester = self.config.change_requester_id
        return await ChangeWriter(
            self.base_url(), self.source_client, writer, requester, self._sleep
        ).create(intent)
