"""OAuth tables: a connection's OAuth client, its tokens (encrypted), and the connect flows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pip_service.db.base import Base, JSONType, UTCDateTime, utcnow


class OAuthClient(Base):
    """How a connection talks OAuth: preset, endpoints' parameters, client id, sealed secret."""

    __tablename__ = "oauth_clients"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONType, default=dict, doc="Preset parameters: domain, tenant, instance, discovery_url"
    )
    client_id: Mapped[str] = mapped_column(String(300))
    client_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grant: Mapped[str] = mapped_column(
        String(32), default="authorization_code", doc="authorization_code or client_credentials"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class OAuthToken(Base):
    """The tokens of a connected connection, sealed together in one envelope."""

    __tablename__ = "oauth_tokens"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(50))
    token_blob: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    has_refresh_token: Mapped[bool] = mapped_column(default=False)
    generation: Mapped[int] = mapped_column(Integer, default=1, doc="Bumped by every refresh")
    connected_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OAuthFlow(Base):
    """One connect flow: its sealed PKCE verifier, who started it, and whether it was used."""

    __tablename__ = "oauth_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    actor_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verifier_blob: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
