"""A fake Jira Cloud site with Assets and Service Management approvals.

Follows Atlassian's documentation:

- Assets REST API (developer.atlassian.com/cloud/assets/rest, served under
  ``/jsm/assets/workspace/{workspaceId}/v1``): ``GET objectschema/list``
  (``startAt``/``maxResults``/``total``/``isLast``/``values``), ``GET
  objectschema/{id}/objecttypes/flat``, ``GET objecttype/{id}/attributes``,
  ``POST object/aql?startAt&maxResults&includeAttributes`` with ``{"qlQuery"}``
  answering ``ObjectListResult`` entries whose attributes carry
  ``objectTypeAttributeId`` and ``objectAttributeValues`` (``value``,
  ``displayValue``, ``referencedObject``, ``user``, ``status``);
- Jira Cloud platform REST API v3, "Search for issues using JQL enhanced
  search (GET)" ``/rest/api/3/search/jql`` (``jql``, ``fields``,
  ``maxResults``, ``nextPageToken``; the last page has no token and
  ``isLast: true``); JQL dates ``"yyyy/MM/dd HH:mm"`` in the user's time
  zone (UTC here);
- Jira Service Management REST API ``GET /rest/servicedeskapi/request/
  {issueIdOrKey}/approval`` (``start``/``limit``/``isLastPage``, approvals with
  ``finalDecision``, ``approvers[].approverDecision``, ``completedDate``);
- Jira Cloud platform REST API v3 "Create issue" ``POST /rest/api/3/issue``
  (``{"fields": {...}}``; 201 ``{"id", "key", "self"}``; 400 with
  ``errors`` keyed by field id) and JQL ``labels = "<label>"``;
- OAuth 2.0 (3LO) apps (developer.atlassian.com/cloud/jira/platform/
  oauth-2-3lo-apps): a 3LO bearer token works only through the gateway,
  ``/ex/jira/{cloudid}/rest/...``, and ``GET /oauth/token/accessible-resources``
  lists the sites it may reach (``id`` is the cloud id, ``url`` the site);
- basic auth with the account email and an API token; errors as
  ``{"errorMessages": [...], "errors": {...}}``; rate limiting with 429 and
  ``Retry-After`` plus ``X-RateLimit-Limit``/``X-RateLimit-Remaining``.
"""

from __future__ import annotations

import asyncio
import base64
import random
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import Fault, ListFaultControls, ListFaults
from tests.fakes.jira_data import (
    ATTRIBUTES,
    BEARER,
    CHANGE_TYPE_ID,
    CLOUD_ID,
    EMAIL,
    EPOCH,
    FIELDS,
    IMPACT_OPTIONS,
    PROJECT,
    RISK_OPTIONS,
    SCHEMA_ID,
    STATUSES,
    TOKEN,
    TYPES,
    WORKSPACE,
    approval,
    attr_id,
    jira_time,
    make_object,
)

_UPDATED = re.compile(r'updated\s*>=\s*"(\d{4}/\d{2}/\d{2} \d{2}:\d{2})"')
_LABEL = re.compile(r'labels\s*=\s*"([^"]+)"')
_JIRA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
_TYPE_IN = re.compile(r"objectType\s+IN\s+\(([^)]*)\)|objectType\s*=\s*(\"[^\"]*\")")


class JiraFake(ListFaultControls):
    """State and ASGI app of one fake site (``fail_on_page`` lists: "search", "aql")."""

    def __init__(self) -> None:
        self.email, self.token, self.bearer = EMAIL, TOKEN, BEARER
        self.site = "https://acme.atlassian.net"  # what accessible-resources lists
        self._lock = threading.Lock()
        self.requests: list[str] = []
        self.posts: list[dict[str, Any]] = []
        self.post_delay = 0.0
        self.reset(0)
        base = f"/jsm/assets/workspace/{WORKSPACE}/v1"
        jira = [
            Route("/rest/api/3/search/jql", self._search),
            Route("/rest/api/3/issue", self._create, methods=["POST"]),
            Route("/rest/servicedeskapi/request/{key}/approval", self._approvals),
        ]
        self.app = Starlette(routes=[
            Route(f"{base}/objectschema/list", self._schemas),
            Route(f"{base}/objectschema/{{id}}/objecttypes/flat", self._types),
            Route(f"{base}/objecttype/{{id}}/attributes", self._attributes),
            Route(f"{base}/object/aql", self._aql, methods=["POST"]),
            Route("/oauth/token/accessible-resources", self._resources),
            *jira,
            *[Route(f"/ex/jira/{CLOUD_ID}{r.path}", r.endpoint, methods=r.methods) for r in jira],
        ])  # fmt: skip

    # --- test controls ---------------------------------------------------------

    def reset(self, changes: int, *, objects: int = 6, seed: int = 1) -> None:
        """Fresh data, no faults."""
        rng = random.Random(seed)
        made = [make_object(n, rng) for n in range(1, objects + 1)]
        made.append(make_object(objects + 1, rng, "12"))  # software: not a device
        devices = [o["id"] for o in made[:-1]]
        for obj in made:
            if obj["type"] != "10" and len(devices) > 1:
                obj["values"]["Depends on"] = rng.choice([d for d in devices if d != obj["id"]])
        issues = [self._issue(n, rng, devices) for n in range(1, changes + 1)]
        issues.append(self._incident(changes + 1))
        with self._lock:
            self.objects = {o["id"]: o for o in made}
            self.issues = issues
            self.approvals = {i["key"]: self._approvals_for(i) for i in issues}
            self.faults = ListFaults()
            self.requests.clear()
            self.posts.clear()
            self.post_delay = 0.0

    def _issue(self, n: int, rng: random.Random, devices: list[str]) -> dict[str, Any]:
        status = rng.choice(STATUSES)
        start = EPOCH + timedelta(days=rng.randrange(100), hours=rng.randrange(24))
        affected = [{"workspaceId": WORKSPACE, "id": f"{WORKSPACE}:{d}", "objectId": d}
                    for d in rng.sample(devices, min(2, len(devices)))]  # fmt: skip
        fields = {
            "summary": f"Change {n}", "issuetype": {"name": "Change"},
            "status": {"name": status[0], "statusCategory": {"key": status[1]}},
            "updated": jira_time(EPOCH + timedelta(minutes=2 * n)),
            "reporter": {"accountId": f"acc-{n % 3}", "emailAddress": f"Req{n % 3}@Example.com"},
            FIELDS["risk"]: {"value": rng.choice(["Low", "Medium", "High", "Critical"])},
            FIELDS["impact"]: {"value": rng.choice(["Minor", "Significant", "Extensive"])},
            FIELDS["change_type"]: {"value": rng.choice(["Standard", "Normal", "Emergency"])},
            FIELDS["planned_start"]: jira_time(start),
            FIELDS["planned_end"]: jira_time(start + timedelta(hours=2)),
            FIELDS["affected_assets"]: affected,
        }  # fmt: skip
        return {"id": str(10000 + n), "key": f"CHG-{n}", "fields": fields}

    def _incident(self, n: int) -> dict[str, Any]:
        fields = {"summary": "Printer on fire", "issuetype": {"name": "Incident"},
                  "status": {"name": "Open", "statusCategory": {"key": "new"}},
                  "updated": jira_time(EPOCH)}  # fmt: skip
        return {"id": str(10000 + n), "key": f"INC-{n}", "fields": fields}

    def _approvals_for(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        status = issue["fields"]["status"]["name"]
        if status in ("Open", "Planning") or issue["key"].startswith("INC"):
            return []
        decision = {"Awaiting approval": "pending", "Declined": "declined"}.get(status, "approved")
        return [approval(issue, decision, issue["fields"]["updated"])]

    def delay_next_post(self, seconds: float) -> None:
        """The next create is stored at once but answered only after ``seconds``."""
        self.post_delay = seconds

    def touch_issue(self, key: str, *, at: datetime | None = None, **fields: Any) -> None:
        """Update an issue's fields and ``updated``."""
        with self._lock:
            issue = next(i for i in self.issues if i["key"] == key)
            issue["fields"].update(fields, updated=jira_time(at or datetime.now(UTC)))

    def approve(self, key: str) -> None:
        """The approver approves; the workflow moves the change to Awaiting implementation."""
        status = {"name": "Awaiting implementation", "statusCategory": {"key": "indeterminate"}}
        self.touch_issue(key, status=status)
        with self._lock:
            issue = next(i for i in self.issues if i["key"] == key)
            self.approvals[key] = [approval(issue, "approved", issue["fields"]["updated"])]

    def add_object(self, n: int, type_id: str = "10") -> dict[str, Any]:
        """Create an object."""
        obj = make_object(n, random.Random(n), type_id)
        with self._lock:
            self.objects[obj["id"]] = obj
        return obj

    def set_values(self, object_id: str, **values: Any) -> None:
        """Change attribute values (by attribute name, underscores for spaces)."""
        with self._lock:
            obj = self.objects[object_id]
            obj["values"].update({k.replace("_", " "): v for k, v in values.items()})
            obj["updated"] = datetime.now(UTC)

    def delete_object(self, object_id: str) -> None:
        """Delete an object; references to it are cleared, as Assets does."""
        with self._lock:
            del self.objects[object_id]
            for obj in self.objects.values():
                if obj["values"].get("Depends on") == object_id:
                    obj["values"]["Depends on"] = None

    # --- the API ---------------------------------------------------------------

    def _guard(self, request: Request, kind: str | None = None) -> Response | None:
        self.requests.append(f"{request.method} {request.url.path}")
        if request.headers.get("Authorization") not in self._accepted(request.url.path):
            return _error(401, "Client must be authenticated to access this resource.")
        with self._lock:
            fault = self.faults.next(kind)
        return _fault(fault) if fault else None

    def _accepted(self, path: str) -> set[str]:
        """Site paths take basic auth; 3LO tokens work only through the gateway paths."""
        basic = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        gateway = path.startswith(("/ex/jira/", "/oauth/"))
        assets = path.startswith("/jsm/assets/")
        return ({f"Basic {basic}"} if not gateway else set()) | (
            {f"Bearer {self.bearer}"} if gateway or assets else set()
        )

    async def _resources(self, request: Request) -> Response:
        site = {"id": CLOUD_ID, "url": self.site, "name": "acme", "avatarUrl": "",
                "scopes": ["read:jira-work", "write:jira-work"]}  # fmt: skip
        return self._guard(request) or _json([site])

    async def _create(self, request: Request) -> Response:
        denied = self._guard(request, "create")
        if denied:
            return denied
        try:
            fields = orjson.loads(await request.body())["fields"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _error(400, "The request body is invalid")
        errors = _field_errors(fields)
        if errors:
            return _json({"errorMessages": [], "errors": errors}, 400)
        with self._lock:
            self.posts.append(fields)
            issue = self._stored(fields)
        delay, self.post_delay = self.post_delay, 0.0
        if delay:
            await asyncio.sleep(delay)
        url = f"{request.base_url}rest/api/3/issue/{issue['id']}"
        return _json({"id": issue["id"], "key": issue["key"], "self": url}, 201)

    def _stored(self, fields: dict[str, Any]) -> dict[str, Any]:
        n = max(int(i["id"]) for i in self.issues) - 10000 + 1
        status = {"name": "Open", "statusCategory": {"key": "new"}}
        stored = {**fields, "issuetype": {"name": "Change"}, "status": status,
                  "updated": jira_time(datetime.now(UTC)),
                  "reporter": {"accountId": "acc-pip", "emailAddress": self.email}}  # fmt: skip
        issue = {"id": str(10000 + n), "key": f"{PROJECT}-{n}", "fields": stored}
        self.issues.append(issue)
        self.approvals[issue["key"]] = []
        return issue

    async def _schemas(self, request: Request) -> Response:
        schema = {"id": SCHEMA_ID, "name": "ITSM", "objectSchemaKey": "ITSM", "status": "Ok"}
        return self._guard(request) or _json(_paged([schema], 0, 25))

    async def _types(self, request: Request) -> Response:
        if request.path_params["id"] != SCHEMA_ID:
            return self._guard(request) or _error(404, "Object schema not found")
        rows = [{"id": i, "name": n, "objectSchemaId": SCHEMA_ID} for i, n in TYPES.items()]
        return self._guard(request) or _json(rows)

    async def _attributes(self, request: Request) -> Response:
        tid = request.path_params["id"]
        if tid not in TYPES:
            return self._guard(request) or _error(404, "Object type not found")
        rows = [{"id": attr_id(tid, name), "name": name, "type": 1 if name == "Depends on" else 0}
                for name in ATTRIBUTES]  # fmt: skip
        return self._guard(request) or _json(rows)

    async def _aql(self, request: Request) -> Response:
        denied = self._guard(request, "aql")
        if denied:
            return denied
        try:
            query = orjson.loads(await request.body()).get("qlQuery", "")
            start, size = _int(request, "startAt", 0), _int(request, "maxResults", 25)
        except (orjson.JSONDecodeError, AttributeError, ValueError):
            return _error(400, "The request body or parameters are invalid")
        names = _aql_types(query)
        if names is None:
            return _error(400, f"AQL is invalid: {query[:60]}")
        with self._lock:
            rows = [o for o in sorted(self.objects.values(), key=lambda o: int(o["id"]))
                    if TYPES[o["type"]] in names]  # fmt: skip
            body = _paged([self._render(o) for o in rows[start : start + size]], start, size)
        body["isLast"] = start + size >= len(rows)
        body["total"] = len(rows)
        return _json(body)

    def _render(self, obj: dict[str, Any]) -> dict[str, Any]:
        attrs = []
        for name, value in obj["values"].items():
            if value in (None, ""):
                continue
            attrs.append({"id": f"{obj['id']}-{name}", "objectId": obj["id"],
                          "objectTypeAttributeId": attr_id(obj["type"], name),
                          "objectAttributeValues": [self._value(name, value)]})  # fmt: skip
        return {
            "workspaceId": WORKSPACE, "globalId": f"{WORKSPACE}:{obj['id']}", "id": obj["id"],
            "label": obj["values"]["Name"], "objectKey": f"ITSM-{obj['id']}",
            "objectType": {
                "id": obj["type"], "name": TYPES[obj["type"]], "objectSchemaId": SCHEMA_ID,
            },
            "created": jira_time(EPOCH), "updated": jira_time(obj["updated"]), "attributes": attrs,
        }  # fmt: skip

    def _value(self, name: str, value: Any) -> dict[str, Any]:
        if name == "Depends on":
            ref = self.objects.get(value)
            label = ref["values"]["Name"] if ref else value
            return {"referencedType": True, "displayValue": label,
                    "referencedObject": {"id": value, "label": label,
                                         "objectKey": f"ITSM-{value}"}}  # fmt: skip
        if name == "Owner":
            user = {"displayName": value.split("@")[0], "emailAddress": value}
            return {"value": f"acc-{value}", "displayValue": user["displayName"], "user": user}
        if name == "Status":
            return {"displayValue": value, "status": {"id": "1", "name": value, "category": 1}}
        return {
            "value": value,
            "displayValue": value,
            "searchValue": value,
            "referencedType": False,
        }

    async def _search(self, request: Request) -> Response:
        denied = self._guard(request, "search")
        if denied:
            return denied
        jql = request.query_params.get("jql", "")
        if "ORDER BY updated" not in jql and "order by" in jql.lower():
            return _error(400, "Unsupported ORDER BY")
        try:
            size = min(_int(request, "maxResults", 50), 5000)
            start = int(
                base64.b64decode(request.query_params.get("nextPageToken", "MA==")).decode()
            )
        except ValueError:
            return _error(400, "The provided next page token is invalid or expired.")
        rows = self._matching(jql)
        if rows is None:
            return _error(400, "Error in the JQL Query: the date is not in a valid format.")
        wanted = request.query_params.get("fields", "").split(",")
        page = [
            {"id": i["id"], "key": i["key"],
             "fields": {k: v for k, v in i["fields"].items() if k in wanted}}
            for i in rows[start : start + size]
        ]  # fmt: skip
        body: dict[str, Any] = {"issues": page, "isLast": start + size >= len(rows)}
        if not body["isLast"]:
            body["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
        return _json(body)

    def _matching(self, jql: str) -> list[dict[str, Any]] | None:
        rows = [i for i in self.issues if 'issuetype = "Change"' not in jql
                or i["fields"]["issuetype"]["name"] == "Change"]  # fmt: skip
        label = _LABEL.search(jql)
        if label:
            rows = [i for i in rows if label.group(1) in i["fields"].get("labels", [])]
        found = _UPDATED.search(jql)
        if found:
            try:
                since = datetime.strptime(found.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)
            except ValueError:
                return None
            rows = [i for i in rows if datetime.fromisoformat(i["fields"]["updated"]) >= since]
        elif "updated" in jql.split("ORDER BY")[0]:
            return None
        return sorted(rows, key=lambda i: (i["fields"]["updated"], i["key"]))

    async def _approvals(self, request: Request) -> Response:
        denied = self._guard(request)
        if denied:
            return denied
        key = request.path_params["key"]
        if key not in self.approvals:
            return _error(404, "Issue does not exist or you do not have permission to see it.")
        start, limit = _int(request, "start", 0), _int(request, "limit", 50)
        values = self.approvals[key][start : start + limit]
        last = start + limit >= len(self.approvals[key])
        return _json({"size": len(values), "start": start, "limit": limit,
                      "isLastPage": last, "values": values})  # fmt: skip


def _field_errors(fields: dict[str, Any]) -> dict[str, str]:
    """Create-issue validation as Jira reports it: messages keyed by field id."""
    errors: dict[str, str] = {}
    if (fields.get("project") or {}).get("key") != PROJECT:
        errors["project"] = "Specify a valid project ID or key"
    if (fields.get("issuetype") or {}).get("id") != CHANGE_TYPE_ID:
        errors["issuetype"] = "Specify an issue type"
    if not str(fields.get("summary") or "").strip():
        errors["summary"] = "You must specify a summary of the issue."
    if any(" " in str(label) for label in fields.get("labels", [])):
        errors["labels"] = "The label can't contain spaces."
    options = {FIELDS["risk"]: RISK_OPTIONS, FIELDS["impact"]: IMPACT_OPTIONS}
    for field, allowed in options.items():
        if field in fields and (fields[field] or {}).get("value") not in allowed:
            errors[field] = f"Specify a valid value for {field}"
    for field in (FIELDS["planned_start"], FIELDS["planned_end"]):
        if field in fields and not _JIRA_TIME.match(str(fields[field])):
            errors[field] = "Invalid date format."
    return errors


def _aql_types(query: str) -> set[str] | None:
    found = _TYPE_IN.fullmatch(query.strip())
    if not found:
        return None
    names = found.group(1) if found.group(1) is not None else found.group(2)
    return {part.strip().strip('"') for part in names.split(",")}


def _paged(values: list[Any], start: int, size: int) -> dict[str, Any]:
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(values),
        "isLast": True,
        "values": values,
    }


def _int(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


def _error(status: int, message: str) -> Response:
    return _json({"errorMessages": [message], "errors": {}}, status)


_MESSAGES = {401: "Client must be authenticated to access this resource.",
             403: "You do not have permission to access this resource.",
             404: "Not found.", 400: "Bad request.", 429: "Rate limit exceeded."}  # fmt: skip


def _fault(fault: Fault) -> Response:
    if fault.garbage:
        return Response(b"<html><body>Atlassian is down</body></html>", 200, media_type="text/html")
    response = _error(fault.status, _MESSAGES.get(fault.status, "Internal server error"))
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


def _json(body: Any, status: int = 200) -> Response:
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99"}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")
