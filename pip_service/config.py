"""Settings, read from ``PIP_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

StaleAction = Literal["serve_stale", "fail_closed"]


class Settings(BaseSettings):
    """Every setting of the service; the README's configuration reference lists them."""

    model_config = SettingsConfigDict(env_prefix="PIP_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/pip.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///... or postgresql+asyncpg://...",
    )
    redis_url: str | None = Field(default=None, description="Redis URL; in-process cache if unset")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL OPAL clients use to reach the PIP"
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated 'kid:base64key' AES-256 keys; the last one encrypts",
    )
    bootstrap_admin_token: SecretStr | None = Field(
        default=None, description="An admin API token accepted without being stored"
    )
    opal_tokens: SecretStr | None = Field(
        default=None, description="Comma-separated bearer tokens that may read /opal/*"
    )
    ttl_restricted: int = Field(default=300, description="Seconds restricted data may be served")
    ttl_confidential: int = Field(default=900)
    ttl_internal: int = Field(default=3600)
    ttl_public: int = Field(default=86400)
    stale_restricted: StaleAction = "fail_closed"
    stale_confidential: StaleAction = "serve_stale"
    stale_internal: StaleAction = "serve_stale"
    stale_public: StaleAction = "serve_stale"
    refresh_ahead_ratio: float = Field(
        default=0.8, description="Sync when this share of a document's TTL has passed"
    )
    scheduler_enabled: bool = True
    scheduler_jitter_seconds: int = 30
    circuit_breaker_threshold: int = 3
    circuit_breaker_base_seconds: int = 60
    sync_lock_ttl_seconds: int = Field(
        default=120, description="A sync lock not renewed for this long is free again"
    )
    sync_max_delete_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A full run that would delete more than this share of a stream's records "
        "(and more than 10) fails and applies nothing, unless forced; 1 turns the guard off",
    )
    source_precedence: str = Field(
        default="",
        description="Comma-separated connector slugs, highest precedence first, for merges",
    )
    device_compliance_rule: Literal["all", "any", "highest_precedence"] = Field(
        default="all",
        description="How a device's `compliant` follows its sources' compliance states: all "
        "reporting sources say compliant, any does, or the highest-precedence one decides",
    )
    memory_cache_max_bytes: int = Field(
        default=512 * 1024 * 1024, description="Bound of the in-process cache (no Redis)"
    )
    encryption_primary_key_id: str | None = Field(
        default=None,
        description="Key id that encrypts (default: the last of PIP_ENCRYPTION_KEYS); set it to "
        "add a new key everywhere first, then switch to it, then run `pip-service keys rotate`",
    )
    oauth_redirect_uri: str | None = Field(
        default=None,
        description="The exact OAuth redirect URI registered at providers "
        "(default: <PIP_PUBLIC_URL>/oauth/callback)",
    )
    oauth_state_ttl_seconds: int = Field(
        default=600, ge=30, le=3600, description="How long a connect flow may take"
    )
    oauth_refresh_margin_seconds: int = Field(
        default=120, ge=0, description="Refresh an access token this long before it expires"
    )
    opal_server_url: str | None = Field(
        default=None, description="OPAL server base URL; document changes are published there"
    )
    opal_datasource_token: SecretStr | None = Field(
        default=None, description="A datasource JWT of the OPAL server for POST /data/config"
    )
    opal_master_token: SecretStr | None = Field(
        default=None,
        description="OPAL master token: the PIP asks POST /token for a datasource token",
    )
    opal_patch_max_bytes: int = Field(
        default=65536, ge=0, description="Larger changes are published as a refetch of the URL"
    )
    opal_callbacks_enabled: bool = Field(
        default=True, description="Ask OPAL clients to report applied updates to the PIP"
    )
    webhook_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Bigger webhook bodies are refused (413)"
    )
    webhook_replay_window_seconds: int = Field(
        default=300, ge=1, description="Signed webhook timestamps older or newer are refused"
    )
    log_level: str = "INFO"
    log_json: bool = True
    data_dir: Path = Path("./var")


def oauth_redirect_uri(settings: Settings) -> str:
    """The exact OAuth redirect URI: the setting, else ``<public_url>/oauth/callback``."""
    return settings.oauth_redirect_uri or f"{settings.public_url.rstrip('/')}/oauth/callback"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
