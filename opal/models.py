"""OPAL 0.9.9's wire schemas (``opal_common.schemas.data``) in pydantic v2.

Field names, defaults and the checks OPAL applies are copied from OPAL; the
contract test feeds everything the PIP emits to the real ``opal-common`` models.
``to_wire`` gives the JSON OPAL expects (aliases, no ``None`` fields).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool, model_validator

DEFAULT_DATA_TOPIC = "policy_data"
SaveMethod = Literal["PUT", "PATCH"]
PatchOp = Literal["add", "remove", "replace", "move", "copy", "test"]


class _Wire(BaseModel):
    """Base of the wire models: unknown fields are ignored, as OPAL's pydantic v1 models do."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class JSONPatchAction(_Wire):
    """One RFC 6902 operation (``opal_common.schemas.store.JSONPatchAction``)."""

    op: PatchOp
    path: str
    value: Any = None
    from_field: str | None = Field(default=None, alias="from")

    @model_validator(mode="after")
    def _value_present(self) -> JSONPatchAction:
        if self.op in ("add", "replace") and self.value is None:
            raise ValueError("'value' must be present when op is either add or replace")
        return self


class HttpFetcherConfig(_Wire):
    """The HTTP fetcher's config an entry may carry (``HttpFetcherConfig``)."""

    fetcher: str | None = None
    headers: dict[str, str] | None = None
    is_json: bool = True
    process_data: bool = True
    method: Literal["get", "post", "put", "patch", "head", "delete"] = "get"
    data: Any = None


class DataSourceEntry(_Wire):
    """Where a client gets one piece of data and where it stores it in OPA."""

    url: str = Field(description="Url source to query for data")
    config: dict[str, Any] | None = Field(
        default=None, description="Suggested fetcher configuration (e.g. headers)"
    )
    topics: list[str] = Field(default_factory=lambda: [DEFAULT_DATA_TOPIC])
    dst_path: str = Field(default="", description="OPA data path to store the document at")
    save_method: SaveMethod = "PUT"
    data: dict[str, Any] | list[Any] | None = Field(
        default=None, description="Inline payload (a JSON Patch list when save_method is PATCH)"
    )

    @model_validator(mode="after")
    def _patch_data_is_json_patch(self) -> DataSourceEntry:
        if self.save_method == "PATCH" and self.data is not None:
            if not isinstance(self.data, list):
                raise ValueError("'data' must be a JSON patch list when save_method is PATCH")
            for action in self.data:
                JSONPatchAction.model_validate(action)
        return self


class DataSourceEntryWithPollingInterval(DataSourceEntry):
    """An entry of a data-source config; each client refetches it every interval (seconds)."""

    periodic_update_interval: float | None = Field(
        default=None, description="Polling interval to refresh data from data source"
    )


class DataSourceConfig(_Wire):
    """The full picture of data a client needs (answer of ``GET /data/config``)."""

    entries: list[DataSourceEntryWithPollingInterval] = Field(default_factory=list)


class ServerDataSourceConfig(_Wire):
    """``OPAL_DATA_CONFIG_SOURCES``: an inline config or an ``external_source_url``, not both."""

    config: DataSourceConfig | None = None
    external_source_url: AnyHttpUrl | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ServerDataSourceConfig:
        if (self.config is None) == (self.external_source_url is None):
            raise ValueError("give exactly one of: config, external_source_url")
        return self


class UpdateCallback(_Wire):
    """URLs (or ``[url, HttpFetcherConfig]`` pairs) told when a client applied an update."""

    callbacks: list[str | tuple[str, HttpFetcherConfig]] = Field(default_factory=list)


class DataUpdate(_Wire):
    """An update the OPAL server broadcasts to the clients subscribed to its entries' topics."""

    id: str | None = None
    entries: list[DataSourceEntry]
    reason: str | None = None
    callback: UpdateCallback = Field(default_factory=UpdateCallback)


class DataEntryReport(_Wire):
    """How one client processed one entry."""

    entry: DataSourceEntry
    fetched: StrictBool | None = False
    saved: StrictBool | None = False
    hash: str | None = None


class DataUpdateReport(_Wire):
    """What a client posts to an update's callbacks."""

    update_id: str | None = None
    reports: list[DataEntryReport]
    policy_hash: str | None = None
    user_data: dict[str, Any] = Field(default_factory=dict)


def to_wire(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict OPAL expects: aliases (``from``), ``None`` fields left out."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
