"""Configuration of the demo connector: the seed, the counts and the reference time."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

_COUNT_LIMIT = 1_000_000


class DemoConfig(BaseModel):
    """Scenario parameters; the defaults are the seed plan's full dataset."""

    model_config = ConfigDict(extra="forbid", title="Demo data")

    seed: int = Field(default=42, ge=0, title="Seed", description="Same seed, same data")
    users: int = Field(default=1_000, ge=10, le=_COUNT_LIMIT, title="Users")
    devices: int = Field(default=50_000, ge=0, le=_COUNT_LIMIT, title="Devices")
    applications: int = Field(default=5_000, ge=1, le=_COUNT_LIMIT, title="Applications")
    deployments: int = Field(default=10_000, ge=0, le=_COUNT_LIMIT, title="Deployments")
    changes: int = Field(
        default=500,
        ge=0,
        le=_COUNT_LIMIT,
        title="Changes",
        description="Change requests that went to the CAB (the CAB approvals)",
    )
    audit_events: int = Field(default=100_000, ge=0, le=10 * _COUNT_LIMIT, title="Audit events")
    domain: str = Field(
        default="example.com",
        min_length=3,
        max_length=100,
        pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$",
        title="Email domain",
    )
    now: datetime | None = Field(
        default=None,
        title="Reference time",
        description=(
            "Timestamps are laid out before and after this instant. Empty: the start of the "
            "sync's day (UTC), so every sync on one day yields identical records and the "
            "data moves forward one day at a time."
        ),
    )
    page_size: int = Field(default=1_000, ge=1, le=10_000, title="Records per page")

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("now must carry a timezone (e.g. 2026-01-06T00:00:00Z)")
        return value.astimezone(UTC) if value is not None else None

    def reference_time(self, sync_started_at: datetime) -> datetime:
        """``now`` if set, else the sync's start truncated to the day (UTC)."""
        if self.now is not None:
            return self.now
        started = sync_started_at.astimezone(UTC)
        return started.replace(hour=0, minute=0, second=0, microsecond=0)
