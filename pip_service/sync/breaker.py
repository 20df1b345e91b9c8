"""The circuit breaker of a connection, kept on the connection row so every replica sees it.

After ``threshold`` consecutive failed runs the circuit opens: state
``circuit_open`` and ``circuit_open_until`` = now + base * 2^(failures - threshold),
capped. Scheduled runs are skipped until then; the next run is a trial, and a
success closes the circuit. An auth failure sets ``needs_reconnect`` instead:
retrying cannot fix refused credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pip_service.config import Settings
from pip_service.connections.models import Connection

ACTIVE, PAUSED, NEEDS_RECONNECT, CIRCUIT_OPEN = (
    "active",
    "paused",
    "needs_reconnect",
    "circuit_open",
)


@dataclass(frozen=True)
class BreakerPolicy:
    """When the circuit opens and for how long."""

    threshold: int = 3
    base_seconds: float = 60.0
    max_seconds: float = 6 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerPolicy:
        """The policy of ``PIP_CIRCUIT_BREAKER_*``."""
        return cls(
            threshold=settings.circuit_breaker_threshold,
            base_seconds=float(settings.circuit_breaker_base_seconds),
        )

    def backoff(self, failures: int) -> timedelta:
        """How long the circuit stays open after ``failures`` consecutive failures."""
        exponent = max(0, failures - self.threshold)
        return timedelta(seconds=min(self.base_seconds * 2**exponent, self.max_seconds))


def record_success(connection: Connection, now: datetime) -> None:
    """A run committed: reset the failure count and close the circuit."""
    connection.consecutive_failures = 0
    connection.circuit_open_until = None
    if connection.state in (CIRCUIT_OPEN, NEEDS_RECONNECT):
        connection.state, connection.state_reason = ACTIVE, None


def record_failure(
    connection: Connection,
    policy: BreakerPolicy,
    now: datetime,
    *,
    reason: str,
    needs_reconnect: bool = False,
) -> None:
    """A run failed: count it; open the circuit or ask for a reconnect."""
    connection.consecutive_failures = (connection.consecutive_failures or 0) + 1
    if needs_reconnect:
        connection.state, connection.state_reason = NEEDS_RECONNECT, reason
        return
    if connection.consecutive_failures < policy.threshold:
        return
    connection.circuit_open_until = now + policy.backoff(connection.consecutive_failures)
    if connection.state != PAUSED:
        connection.state = CIRCUIT_OPEN
        connection.state_reason = (
            f"{connection.consecutive_failures} consecutive failed syncs; last: {reason}"
        )


def is_open(connection: Connection, now: datetime) -> bool:
    """Whether scheduled runs of the connection are held back by its open circuit."""
    until = connection.circuit_open_until
    return connection.state == CIRCUIT_OPEN and until is not None and now < until
