"""Canonical records: what every connector normalizes its source data into.

A stream's records are one of these models. The document builder merges the
records of all connections into the policy documents (``identity/users``,
``assets/devices``...), so these models are the contract between connectors
and policies. Field names here are the field names policies read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.base.types import EntityKind, Sensitivity

DeviceType = Literal["laptop", "desktop", "virtual_machine", "mobile", "tablet", "server", "other"]
DeviceStatus = Literal["active", "inactive", "maintenance", "retired", "unknown"]
ComplianceState = Literal["compliant", "noncompliant", "in_grace_period", "unknown"]


def normalize_identity_key(value: str) -> str:
    """The key users are merged by: a trimmed, lower-cased email or UPN."""
    return value.strip().lower()


def normalize_serial(value: str) -> str:
    """The key devices are merged by first: an upper-cased serial without spaces."""
    return "".join(value.split()).upper()


class CanonicalRecord(BaseModel):
    """Base of canonical records; ``key`` is the entity's merge key."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    entity: ClassVar[EntityKind]
    default_sensitivity: ClassVar[dict[str, Sensitivity]] = {}

    source_id: str = Field(description="The object's id in the source system")

    @property
    def key(self) -> str:
        """The merge key of the entity this record describes."""
        raise NotImplementedError


class CanonicalUser(CanonicalRecord):
    """A person, keyed by normalized email (or UPN when there is no email)."""

    entity: ClassVar[EntityKind] = EntityKind.USER
    default_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "email": Sensitivity.INTERNAL,
        "upn": Sensitivity.INTERNAL,
        "username": Sensitivity.INTERNAL,
        "display_name": Sensitivity.INTERNAL,
        "given_name": Sensitivity.INTERNAL,
        "family_name": Sensitivity.INTERNAL,
        "department": Sensitivity.INTERNAL,
        "job_title": Sensitivity.INTERNAL,
        "manager": Sensitivity.INTERNAL,
        "enabled": Sensitivity.INTERNAL,
        "groups": Sensitivity.INTERNAL,
        "roles": Sensitivity.INTERNAL,
        "location": Sensitivity.INTERNAL,
        "last_sign_in": Sensitivity.CONFIDENTIAL,
        "employee_id": Sensitivity.RESTRICTED,
        "phone": Sensitivity.RESTRICTED,
    }

    email: str | None = None
    upn: str | None = None
    username: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    department: str | None = None
    job_title: str | None = None
    manager: str | None = Field(default=None, description="The manager's user key (email/UPN)")
    enabled: bool = True
    groups: list[str] = Field(default_factory=list, description="Group keys, direct membership")
    roles: list[str] = Field(default_factory=list)
    location: str | None = None
    last_sign_in: datetime | None = None
    employee_id: str | None = None
    phone: str | None = None

    @field_validator("email", "upn", "manager")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return normalize_identity_key(value) if value else value

    @property
    def key(self) -> str:
        """Normalized email, else UPN, else the source id."""
        return self.email or self.upn or f"id:{self.source_id}"


class CanonicalGroup(CanonicalRecord):
    """A group; ``members`` are user keys, ``member_groups`` nested group keys."""

    entity: ClassVar[EntityKind] = EntityKind.GROUP
    default_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "name": Sensitivity.INTERNAL,
        "description": Sensitivity.INTERNAL,
        "members": Sensitivity.INTERNAL,
        "member_groups": Sensitivity.INTERNAL,
        "roles": Sensitivity.INTERNAL,
    }

    group_key: str = Field(description="Stable key shared across sources, e.g. the lower-case name")
    name: str
    description: str | None = None
    members: list[str] = Field(default_factory=list)
    member_groups: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list, description="Roles the group grants")

    @property
    def key(self) -> str:
        return self.group_key


class CanonicalDevice(CanonicalRecord):
    """A device, keyed by serial number, then asset tag, then hostname."""

    entity: ClassVar[EntityKind] = EntityKind.DEVICE
    default_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "owner": Sensitivity.CONFIDENTIAL,
        "ip_address": Sensitivity.CONFIDENTIAL,
        "mac_address": Sensitivity.CONFIDENTIAL,
    }

    serial_number: str | None = None
    asset_tag: str | None = None
    hostname: str | None = None
    device_type: DeviceType | None = None
    os: str | None = None
    os_version: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    location: str | None = None
    department: str | None = None
    owner: str | None = Field(default=None, description="The owner's user key (email/UPN)")
    status: DeviceStatus | None = None
    install_status: str | None = None
    cmdb_class: str | None = None
    ring: str | None = Field(default=None, description="Deployment ring the device belongs to")
    compliance_score: float | None = Field(default=None, ge=0, le=100)
    compliance_state: ComplianceState | None = None
    compliance_reasons: list[str] = Field(default_factory=list)
    management_state: str | None = None
    enrollment_state: str | None = None
    encrypted: bool | None = None
    jailbroken: bool | None = None
    ownership: Literal["corporate", "personal", "unknown"] | None = None
    enrolled_at: datetime | None = None
    last_seen: datetime | None = None
    ip_address: str | None = None
    mac_address: str | None = None
    mdm_server: str | None = Field(default=None, description="ABM: MDM server it is assigned to")
    extra: dict[str, Any] = Field(default_factory=dict, description="Source-specific facts")

    @field_validator("owner")
    @classmethod
    def _lower_owner(cls, value: str | None) -> str | None:
        return normalize_identity_key(value) if value else value

    @property
    def key(self) -> str:
        """Serial number first, then asset tag, hostname, source id."""
        if self.serial_number:
            return normalize_serial(self.serial_number)
        if self.asset_tag:
            return f"tag:{self.asset_tag.strip().upper()}"
        if self.hostname:
            return f"host:{self.hostname.strip().lower()}"
        return f"id:{self.source_id}"


class CanonicalRelationship(CanonicalRecord):
    """An edge of the CI dependency graph."""

    entity: ClassVar[EntityKind] = EntityKind.RELATIONSHIP

    parent: str = Field(description="Device/CI key of the parent")
    child: str = Field(description="Device/CI key of the child")
    type: str = Field(description="e.g. 'Depends on::Used by', 'Runs on::Runs'")

    @property
    def key(self) -> str:
        return f"{self.parent}|{self.type}|{self.child}"


class Approval(BaseModel):
    """One approver's decision on a change."""

    model_config = ConfigDict(extra="forbid")

    approver: str = Field(description="User key of the approver")
    state: Literal["requested", "approved", "rejected", "not_yet_requested", "cancelled"]
    at: datetime | None = None
    group: str | None = None


class CanonicalChange(CanonicalRecord):
    """A change request, keyed by its number (e.g. CHG0030001)."""

    entity: ClassVar[EntityKind] = EntityKind.CHANGE
    default_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "requested_by": Sensitivity.INTERNAL,
        "approvals": Sensitivity.INTERNAL,
    }

    number: str
    title: str | None = None
    state: str = Field(
        description="new, assess, authorize, scheduled, implement, review, closed, canceled"
    )
    type: Literal["standard", "normal", "emergency"] = "normal"
    risk: Literal["low", "moderate", "high", "very_high"] | None = None
    risk_score: int | None = Field(default=None, ge=0, le=100)
    impact: str | None = None
    approval: Literal["not_requested", "requested", "approved", "rejected"] = "not_requested"
    cab_required: bool = False
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    assignment_group: str | None = None
    requested_by: str | None = None
    affected_cis: list[str] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    post_hoc_review: bool | None = None
    correlation_id: str | None = None

    @field_validator("requested_by")
    @classmethod
    def _lower_requester(cls, value: str | None) -> str | None:
        return normalize_identity_key(value) if value else value

    @property
    def key(self) -> str:
        return self.number.strip().upper()


class Vulnerability(BaseModel):
    """A known vulnerability in an application version."""

    model_config = ConfigDict(extra="forbid")

    id: str
    severity: Literal["critical", "high", "medium", "low"]
    version: str | None = None
    exception: bool = Field(default=False, description="An exception is recorded for it")


class CanonicalApplication(CanonicalRecord):
    """A deployable application with its versions and known vulnerabilities."""

    entity: ClassVar[EntityKind] = EntityKind.APPLICATION

    app_key: str
    name: str
    vendor: str | None = None
    category: Literal["standard", "line_of_business"] = "standard"
    versions: list[str] = Field(default_factory=list)
    current_version: str | None = None
    deployment_status: Literal["deployed", "pending", "failed"] | None = None
    vulnerabilities: list[Vulnerability] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return self.app_key


class CanonicalDeployment(CanonicalRecord):
    """One rollout of an application version to a ring."""

    entity: ClassVar[EntityKind] = EntityKind.DEPLOYMENT

    deployment_id: str
    application: str = Field(description="Application key")
    version: str
    ring: Literal["lab", "canary", "pilot", "department", "global"]
    status: Literal["completed", "in_progress", "failed", "rolled_back", "pending"]
    risk_score: int = Field(ge=0, le=100)
    change_number: str | None = None
    requested_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    target_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    correlation_id: str | None = None

    @property
    def key(self) -> str:
        return self.deployment_id


class CanonicalAuditEvent(CanonicalRecord):
    """An event from a source's audit trail (kept as records, not a document)."""

    entity: ClassVar[EntityKind] = EntityKind.AUDIT_EVENT

    event_id: str
    type: str
    actor: str | None = None
    at: datetime
    correlation_id: str | None = None
    summary: str | None = None

    @property
    def key(self) -> str:
        return self.event_id


CANONICAL_MODELS: dict[EntityKind, type[CanonicalRecord]] = {
    model.entity: model
    for model in (
        CanonicalUser,
        CanonicalGroup,
        CanonicalDevice,
        CanonicalRelationship,
        CanonicalChange,
        CanonicalApplication,
        CanonicalDeployment,
        CanonicalAuditEvent,
    )
}
