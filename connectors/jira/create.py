"""Creating a Jira Service Management change (``POST /rest/api/3/issue``) without ever creating two.

The Jira platform "Create issue" endpoint is used rather than the Service
Management "Create customer request" one: the latter accepts only the fields
shown on the request type's portal form, so the marker label, the planned
window and the Assets field could be refused there. The change is created in
the configured service project with its Change issue type, so the project's
change workflow (and its approvals) applies all the same.

The POST is sent once, never retried blindly: one that timed out may have
created the change. The intent's marker is set as a label, and every attempt
first searches ``labels = "<marker>"`` (``/rest/api/3/search/jql``); only
when nothing is found is the change created.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from connectors.base.errors import ConfigError, FatalSourceError
from connectors.base.http import Sleep, SourceClient, decode_json
from connectors.base.itsm import ChangeIntent, CreatedChange, find_or_create
from connectors.jira import change_mapping
from connectors.jira.config import ChangeFieldMapping, JiraConfig

logger = logging.getLogger(__name__)


def risk_option(score: int) -> str:
    """The JSM change risk option for a 0-100 score."""
    if score >= 90:
        return "Critical"
    if score >= 70:
        return "High"
    return "Medium" if score >= 40 else "Low"


def impact_option(score: int) -> str:
    """The JSM impact option for a 0-100 score."""
    if score >= 70:
        return "Extensive"
    return "Significant" if score >= 40 else "Minor"


def jira_time(when: datetime) -> str:
    """A datetime field value as the Jira REST API takes it (``2026-12-01T22:00:00.000+0000``)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def issue_body(intent: ChangeIntent, config: JiraConfig) -> dict[str, Any]:
    """The issue posted for an intent (custom fields through the change field mapping)."""
    text = (
        intent.description or f"Requested by the PIP service. Risk score {intent.risk_score}/100."
    )
    fields: dict[str, Any] = {
        "project": {"key": config.change_project_key},
        "issuetype": {"id": config.change_issue_type_id},
        "summary": intent.summary,
        "description": _document(f"{text}\nCorrelation id: {intent.correlation_id}"),
        "labels": [intent.marker],
    }
    mapping = config.change_fields
    values = {
        mapping.risk: {"value": risk_option(intent.risk_score)},
        mapping.impact: {"value": impact_option(intent.risk_score)},
        mapping.planned_start: jira_time(intent.start),
        mapping.planned_end: jira_time(intent.end),
        mapping.affected_assets: _assets(intent.affected, config.workspace_id) or None,
    }
    fields.update({field: value for field, value in values.items() if field and value})
    return {"fields": fields}


def check(intent: ChangeIntent, config: JiraConfig) -> None:
    """Refuse, before anything is written, what Jira could not take."""
    if config.change_project_key is None or config.change_issue_type_id is None:
        missing = (
            "change_project_key" if config.change_project_key is None else "change_issue_type_id"
        )
        raise ConfigError(f"set {missing} on the connection to create changes", field=missing)
    bad = [ci for ci in intent.affected if not ci.isdigit()]
    if bad:
        raise ConfigError(
            f"affected CIs must be Assets object ids ({len(bad)} are not)", field="affected"
        )
    if intent.affected and config.change_fields.affected_assets is None:
        raise ConfigError(
            "map change_fields.affected_assets to create changes with affected CIs",
            field="change_fields.affected_assets",
        )
    if intent.end <= intent.start:
        raise ConfigError("the change window must end after it starts", field="end")
    if " " in intent.marker:
        raise ConfigError("the marker must be usable as a Jira label", field="marker")


class ChangeWriter:
    """Creates one intent's change; ``reader`` retries GETs, ``writer`` sends the POST once."""

    def __init__(
        self,
        base_url: str,
        config: JiraConfig,
        reader: SourceClient,
        writer: SourceClient,
        sleep: Sleep | None = None,
    ) -> None:
        self.base, self.config = base_url, config
        self.reader, self.writer = reader, writer
        self._sleep: Sleep = sleep or asyncio.sleep

    async def create(self, intent: ChangeIntent) -> CreatedChange:
        """Find the change labelled with the intent's marker, else create it."""
        check(intent, self.config)
        return await find_or_create(
            lambda: self._find(intent.marker),
            lambda: self._post(intent),
            sleep=self._sleep,
        )

    async def _find(self, marker: str) -> CreatedChange | None:
        params = {"jql": f'labels = "{marker}"', "fields": "status,labels", "maxResults": 1}
        body = (
            await self.reader.get_json(f"{self.base}/rest/api/3/search/jql", params=params)
        ).body
        issues = body.get("issues") if isinstance(body, dict) else None
        if not isinstance(issues, list):
            raise FatalSourceError("Jira answered the marker search without issues")
        return _created(issues[0], existed=True) if issues else None

    async def _post(self, intent: ChangeIntent) -> CreatedChange:
        response = await self.writer.request(
            "POST", f"{self.base}/rest/api/3/issue", json=issue_body(intent, self.config)
        )
        body = decode_json("Jira Service Management", response)
        if not isinstance(body, dict):
            raise FatalSourceError("Jira answered the new change without an issue")
        return _created({**body, "fields": {"status": {"name": "Open"}}}, existed=False)


def _assets(affected: list[str], workspace: str) -> list[dict[str, str]]:
    return [
        {"workspaceId": workspace, "id": f"{workspace}:{obj}", "objectId": obj}
        for obj in dict.fromkeys(affected)
    ]


def _document(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document (API v3 rich-text fields)."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()
        if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _created(row: dict[str, Any], *, existed: bool) -> CreatedChange:
    issue_id, key = row.get("id"), row.get("key")
    if not issue_id or not key:
        raise FatalSourceError("Jira returned a change without an id or key")
    state = change_mapping.change(row, ChangeFieldMapping()).state
    return CreatedChange(number=str(key), source_id=str(issue_id), state=state, existed=existed)
