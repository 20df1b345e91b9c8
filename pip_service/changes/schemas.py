"""Request and response bodies of ``/api/v1/change-requests``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@/-]{1,200}$")]
AffectedItem = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]


class Window(BaseModel):
    """When the change may be carried out (timezone-aware; start before end)."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("must be after start")
        return end


class ChangeRequestCreate(BaseModel):
    """A deployment intent to raise a change request for."""

    model_config = ConfigDict(extra="forbid")

    connection_id: int = Field(ge=1, le=2**62, description="The ITSM connection to create it in")
    summary: str = Field(min_length=1, max_length=160, description="Short description")
    description: str | None = Field(default=None, max_length=4000)
    risk_score: int = Field(ge=0, le=100)
    window: Window
    affected: list[AffectedItem] = Field(
        default_factory=list, max_length=500, description="Device keys or CI sys_ids"
    )
    correlation_id: Token | None = Field(
        default=None, description="Carried onto the change; defaults to the idempotency key"
    )
    deployment_intent_id: Token | None = Field(
        default=None, description="Used as the idempotency key when none is given"
    )
    idempotency_key: Token | None = Field(
        default=None,
        validate_default=True,
        description="Same key, same change: retries never create a second one",
    )

    @field_validator("idempotency_key")
    @classmethod
    def _key_given(cls, key: str | None, info: ValidationInfo) -> str | None:
        if not key and not info.data.get("deployment_intent_id"):
            raise ValueError("is required (or give deployment_intent_id)")
        return key

    @property
    def key(self) -> str:
        """The idempotency key (given, or derived from the deployment intent id)."""
        return self.idempotency_key or f"deployment-intent:{self.deployment_intent_id}"


class ChangeRequestOut(BaseModel):
    """A change request this service created (or is creating)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    connection_id: int
    change_number: str | None
    source_id: str | None
    status: str
    correlation_id: str
    created_at: datetime
