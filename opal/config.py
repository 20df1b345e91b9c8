"""The environment that points an OPAL server and its clients at the PIP.

``opal_environment`` answers ``pip-service opal-config``. The server gets the
PIP's ``/opal/data-sources`` as ``external_source_url`` (it redirects each client
there, appending the client's token as ``?token=``); the clients subscribe to the
PIP's topics. ``OPAL_CLIENT_TOKEN`` is the PIP read token, which is right when the
OPAL server runs without auth keys; with OPAL auth enabled, clients carry a JWT
from the OPAL server instead, and that JWT must be listed in ``PIP_OPAL_TOKENS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from opal.datasources import data_sources_url, topics_for
from opal.models import ServerDataSourceConfig
from pip_service.config import Settings
from pip_service.documents.catalog import document_names

SERVER_KEYS = ("OPAL_DATA_CONFIG_SOURCES",)
CLIENT_KEYS = ("OPAL_DATA_TOPICS", "OPAL_CLIENT_TOKEN", "OPAL_DATA_UPDATER_ENABLED")


def server_data_config(settings: Settings) -> ServerDataSourceConfig:
    """``OPAL_DATA_CONFIG_SOURCES``: redirect clients to the PIP's data-source config."""
    return ServerDataSourceConfig.model_validate(
        {"external_source_url": data_sources_url(settings.public_url)}
    )


def opal_environment(
    settings: Settings, token: str, documents: Iterable[str] | None = None
) -> dict[str, str]:
    """OPAL server and client environment variables (server ones first) for this PIP."""
    names = list(documents) if documents is not None else document_names()
    sources = server_data_config(settings).model_dump(mode="json", exclude_none=True)
    return {
        "OPAL_DATA_CONFIG_SOURCES": json.dumps(sources, separators=(",", ":")),
        "OPAL_DATA_TOPICS": ",".join(topics_for(names)),
        "OPAL_CLIENT_TOKEN": token,
        "OPAL_DATA_UPDATER_ENABLED": "true",
    }
