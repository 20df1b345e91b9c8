"""The PIP's OPAL data-source config: one entry per policy document.

Each entry tells every OPAL client to fetch ``<PIP_PUBLIC_URL>/opal/pip-data/<name>``
with the PIP's own OPAL read token (the only header ever put in an entry: OPAL
broadcasts entries to every client), store it at ``/pip/<name>`` in OPA, and
refetch it every ``TTL * refresh ratio`` seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from opal.models import DataSourceConfig, DataSourceEntryWithPollingInterval

DATA_ROUTE = "/opal/pip-data"
SOURCES_ROUTE = "/opal/data-sources"
TOPIC_PREFIX = "pip_"
DST_ROOT = "/pip"


@dataclass(frozen=True)
class DocumentSource:
    """A document OPAL should load, and how long it may go without a refresh."""

    name: str
    ttl_seconds: float


def topic_for(name: str) -> str:
    """The OPAL topic of a document's family: ``identity/users`` → ``pip_identity``."""
    return TOPIC_PREFIX + name.split("/", 1)[0]


def dst_path_for(name: str) -> str:
    """Where OPAL stores a document in OPA (``/pip/identity/users``: data.pip.identity.users)."""
    return f"{DST_ROOT}/{name}"


def document_url(public_url: str, name: str) -> str:
    """The URL OPAL clients fetch a document from."""
    return f"{public_url.rstrip('/')}{DATA_ROUTE}/{name}"


def data_sources_url(public_url: str) -> str:
    """The PIP's data-source config, for OPAL's ``external_source_url``."""
    return f"{public_url.rstrip('/')}{SOURCES_ROUTE}"


def topics_for(names: Iterable[str]) -> list[str]:
    """The sorted topics of some documents (what an OPAL client subscribes to)."""
    return sorted({topic_for(name) for name in names})


def fetch_config(read_token: str) -> dict[str, object]:
    """The fetcher config of an entry: the PIP's OPAL read token, nothing else."""
    return {"headers": {"Authorization": f"Bearer {read_token}"}}


def refresh_interval(ttl_seconds: float, refresh_ratio: float) -> float:
    """Seconds between a client's refetches: the share ``refresh_ratio`` of the TTL (≥ 1 s)."""
    return max(1.0, round(ttl_seconds * refresh_ratio, 3))


def data_source_entry(
    document: DocumentSource, *, public_url: str, read_token: str, refresh_ratio: float
) -> DataSourceEntryWithPollingInterval:
    """The entry of one document."""
    return DataSourceEntryWithPollingInterval(
        url=document_url(public_url, document.name),
        config=fetch_config(read_token),
        topics=[topic_for(document.name)],
        dst_path=dst_path_for(document.name),
        save_method="PUT",
        periodic_update_interval=refresh_interval(document.ttl_seconds, refresh_ratio),
    )


def data_source_config(
    documents: Iterable[DocumentSource],
    *,
    public_url: str,
    read_token: str,
    refresh_ratio: float,
) -> DataSourceConfig:
    """The config of every document, sorted by name (what ``/opal/data-sources`` answers)."""
    entries = [
        data_source_entry(
            doc, public_url=public_url, read_token=read_token, refresh_ratio=refresh_ratio
        )
        for doc in sorted(documents, key=lambda doc: doc.name)
    ]
    return DataSourceConfig(entries=entries)
