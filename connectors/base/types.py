"""Small shared vocabularies: categories, entity kinds and sensitivities."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Category(StrEnum):
    """What kind of system a connector reads."""

    IDENTITY = "identity"
    CMDB = "cmdb"
    ITSM = "itsm"
    MDM = "mdm"
    DEMO = "demo"


class EntityKind(StrEnum):
    """Which canonical entity a stream's records are; decides the document they feed."""

    USER = "user"
    GROUP = "group"
    DEVICE = "device"
    RELATIONSHIP = "relationship"
    CHANGE = "change"
    APPLICATION = "application"
    DEPLOYMENT = "deployment"
    AUDIT_EVENT = "audit_event"


class Sensitivity(IntEnum):
    """How sensitive a field is; a document is as sensitive as its most sensitive field."""

    PUBLIC = 0
    INTERNAL = 1
    CONFIDENTIAL = 2
    RESTRICTED = 3

    @property
    def label(self) -> str:
        """The lower-case name used in settings, documents and the API."""
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | int | Sensitivity) -> Sensitivity:
        """Read a sensitivity from its name or number."""
        if isinstance(value, str):
            return cls[value.upper()]
        return cls(value)
