"""The optional ITSM capability: create a change request from a deployment intent.

A connector that can create changes implements :class:`ChangeCreator`
(``create_change``); the service checks ``isinstance(connector, ChangeCreator)``.
Implementations must be idempotent per ``intent.marker``: look the change up
at the source by it before creating, so a retry after a timeout (the source
may have created the change without us hearing back) finds it instead of
creating a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.base.errors import TransientSourceError

logger = logging.getLogger(__name__)

ATTEMPTS = 3
PAUSE = 1.0


@dataclass(frozen=True)
class ChangeIntent:
    """What to ask the ITSM system for.

    ``affected`` holds the source ids of the affected CIs (resolved from device
    keys by the caller). ``marker`` is unique per intent (derived from the
    idempotency key) and is stored on the change so a retry can find it.
    """

    summary: str
    risk_score: int
    start: datetime
    end: datetime
    marker: str
    correlation_id: str
    affected: list[str] = field(default_factory=list)
    description: str | None = None


@dataclass(frozen=True)
class CreatedChange:
    """The change the source holds for an intent; ``existed`` when a retry found it."""

    number: str
    source_id: str
    state: str
    existed: bool = False


@runtime_checkable
class ChangeCreator(Protocol):
    """A connector that can create change requests."""

    async def create_change(self, intent: ChangeIntent) -> CreatedChange:
        """Create (or find, by ``intent.marker``) the change for ``intent``."""
        ...


async def find_or_create(
    find: Callable[[], Awaitable[CreatedChange | None]],
    create: Callable[[], Awaitable[CreatedChange]],
    *,
    sleep: Callable[[float], Awaitable[None]],
) -> CreatedChange:
    """Look the change up by its marker before every attempt; create it when absent.

    The create call is never retried blindly: after a transient failure (the
    source may have created the change without us hearing back) the next
    attempt looks it up first. Gives up after ``ATTEMPTS`` with the last error.
    """
    failure: TransientSourceError | None = None
    for attempt in range(ATTEMPTS):
        found = await find()
        if found is not None:
            logger.info("change %s already exists for this intent", found.number)
            return found
        try:
            return await create()
        except TransientSourceError as err:
            failure = err
            logger.warning("creating a change failed (attempt %d): %s", attempt + 1, err)
            await sleep(PAUSE * (attempt + 1))
    assert failure is not None
    raise failure
