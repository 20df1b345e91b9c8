# METADATA
# title: Test fixtures
# description: |
#   A small, fresh data.pip world for the Rego tests, in the document shapes of
#   docs/documents.md. Tests replace data.pip with `pip` and change one thing.
package pip_policy.fixtures_test

now := "2026-03-02T10:00:00Z"

fresh_meta(doc) := {
	"key": doc,
	"revision": 3,
	"etag": "\"0123456789abcdef0123456789abcdef\"",
	"sensitivity": "internal",
	"ttl_seconds": 900,
	"built_at": "2026-03-02T09:00:00Z",
	"refreshed_at": "2026-03-02T09:55:00Z",
	"expires_at": "2099-01-01T00:00:00Z",
	"stale": false,
	"entity_count": 1,
	"size": 100,
	"sources": [{"name": "demo", "connector": "demo", "last_success_at": "2026-03-02T09:55:00Z"}],
}

documents := [
	"identity/users", "identity/groups", "assets/devices", "assets/device_index",
	"itsm/changes", "releases/applications", "releases/deployments", "releases/deployment_index",
]

user(key, roles, groups) := {
	"key": key,
	"email": key,
	"enabled": true,
	"roles": roles,
	"groups": groups,
	"sources": ["okta"],
}

device(key, ring, status, score) := {
	"key": key,
	"serial_number": key,
	"ring": ring,
	"status": status,
	"compliance_score": score,
	"compliant": true,
	"managed_by": ["intune"],
	"sources": ["intune"],
}

# The index the service builds with assets/devices (pip_service/documents/device_index.py);
# tests/policies/test_indexes.py checks that both give the same index.
device_index(devices) := {
	"status": {status: {k: true | some k, d in devices; d.status == status} |
		some d in devices
		status := d.status
		is_string(status)
	},
	"ring": {ring: {k: true | some k, d in devices; d.ring == ring} |
		some d in devices
		ring := d.ring
		is_string(ring)
	},
	"compliance_score": {band: {k: d.compliance_score | some k, d in devices; scored(d); score_band(d.compliance_score) == band} |
		some d in devices
		scored(d)
		band := score_band(d.compliance_score)
	},
	"mdm_noncompliant": {k: true | some k, d in devices; d.compliant == false},
	"missing": {
		"status": {k: true | some k, d in devices; not has_status(d)},
		"compliance_score": {k: true | some k, d in devices; not scored(d)},
	},
}

has_status(d) if is_string(d.status)

scored(d) if {
	is_number(d.compliance_score)
	d.compliance_score >= 0
}

score_band(score) := format_int(min([floor(score), 100]), 10)

# The index the service builds with releases/deployments
# (pip_service/documents/deployment_index.py), checked like device_index.
deployment_index(deployments) := {app: {version: {ring: {k: true |
	some k, r in deployments
	indexed(r)
	[r.application, r.version, r.ring] == [app, version, ring]
} |
	some r in deployments
	indexed(r)
	[r.application, r.version] == [app, version]
	ring := r.ring
} |
	some r in deployments
	indexed(r)
	r.application == app
	version := r.version
} |
	some r in deployments
	indexed(r)
	app := r.application
}

indexed(rollout) if {
	is_string(rollout.application)
	is_string(rollout.version)
	is_string(rollout.ring)
}

rollout(key, version, rate, started_at) := {
	"key": key,
	"application": "chrome",
	"version": version,
	"ring": "canary",
	"status": "completed",
	"risk_score": 20,
	"started_at": started_at,
	"success_rate": rate,
	"sources": ["demo"],
}

evidence_items := ["implementation_plan", "pilot_results", "risk_assessment", "rollback_plan", "security_scan", "test_plan"]

complete_evidence := {
	"pack_id": "EVP-1",
	"complete": true,
	"items": {item: "complete" | some item in evidence_items},
	"missing": [],
}

approval(approver) := {"approver": approver, "state": "approved", "group": "cab", "at": "2026-03-01T12:00:00Z"}

change(number, approval_state, state, score, approvals) := {
	"key": number,
	"number": number,
	"type": "normal",
	"state": state,
	"approval": approval_state,
	"risk_score": score,
	"cab_required": true,
	"requested_by": "dev@example.com",
	"planned_start": "2026-03-02T08:00:00Z",
	"planned_end": "2026-03-02T18:00:00Z",
	"approvals": approvals,
	"evidence": complete_evidence,
	"sources": ["servicenow"],
}

pip := {
	"meta": {doc: fresh_meta(doc) | some doc in documents},
	"identity": {"users": {
		"ops@example.com": user("ops@example.com", ["operator", "viewer"], ["it-ops"]),
		"admin@example.com": user("admin@example.com", ["admin"], ["it-admins"]),
		"viewer@example.com": user("viewer@example.com", ["viewer"], ["staff"]),
		"gone@example.com": object.union(user("gone@example.com", ["operator"], ["it-ops"]), {"enabled": false}),
		"dev@example.com": user("dev@example.com", ["viewer"], ["cab", "developers"]),
		"cab1@example.com": user("cab1@example.com", ["viewer"], ["cab"]),
		"cab2@example.com": user("cab2@example.com", ["viewer"], ["cab"]),
		"cab3@example.com": user("cab3@example.com", ["viewer"], ["cab", "it-ops"]),
		"cab4@example.com": user("cab4@example.com", ["viewer"], ["cab"]),
		"cab-off@example.com": object.union(user("cab-off@example.com", ["viewer"], ["cab"]), {"enabled": false}),
	}},
	"assets": {"devices": devices, "device_index": device_index(devices)},
	"releases": {
		"applications": {"chrome": {
			"key": "chrome",
			"name": "Google Chrome",
			"category": "standard",
			"versions": ["126.0", "127.0", "128.0", "129.0", "130.0"],
			"vulnerabilities": [
				{"id": "CVE-2026-0001", "severity": "critical", "version": "129.0", "exception": false},
				{"id": "CVE-2026-0002", "severity": "high", "version": "126.0", "exception": true},
				{"id": "CVE-2026-0003", "severity": "medium", "version": "126.0", "exception": false},
			],
			"sources": ["demo"],
		}},
		"deployments": deployments,
		"deployment_index": deployment_index(deployments),
	},
	"itsm": {"changes": {
		"CHG0001": change("CHG0001", "approved", "scheduled", 80, [
			approval("cab1@example.com"), approval("cab2@example.com"), approval("cab3@example.com"),
		]),
		"CHG0002": change("CHG0002", "requested", "authorize", 80, [approval("cab1@example.com")]),
		"CHG0003": change("CHG0003", "approved", "scheduled", 40, [
			approval("cab1@example.com"), approval("cab2@example.com"),
		]),
	}},
}

devices := {
	"PILOT001": device("PILOT001", "pilot", "active", 95),
	"PILOT002": device("PILOT002", "pilot", "active", 88),
	"PILOT003": device("PILOT003", "pilot", "active", 80),
	"LAB001": device("LAB001", "lab", "active", 99),
	"LOWSCORE1": device("LOWSCORE1", "department", "active", 60),
	"INACTIVE1": device("INACTIVE1", "department", "inactive", 97),
	"NONCOMP1": object.union(device("NONCOMP1", "department", "active", 99), {"compliant": false}),
	"NOSCORE1": json.remove(device("NOSCORE1", "department", "active", 0), ["compliance_score"]),
}

deployments := {
	"DEP-1": rollout("DEP-1", "126.0", 0.99, "2026-02-25T00:00:00Z"),
	"DEP-2": rollout("DEP-2", "127.0", 0.90, "2026-02-25T00:00:00Z"),
	"DEP-3": rollout("DEP-3", "128.0", 0.99, "2026-03-01T20:00:00Z"),
	"DEP-4": rollout("DEP-4", "129.0", 0.99, "2026-02-25T00:00:00Z"),
}

# A deployment request that the fixtures allow: chrome 126.0 to the Pilot ring.
pilot_request := {
	"requester": "ops@example.com",
	"application": "chrome",
	"version": "126.0",
	"ring": "pilot",
	"risk_score": 30,
	"time": now,
}

# with_meta(doc, patch) is data.pip.meta with doc's entry merged with patch.
with_meta(doc, patch) := object.union(pip.meta, {doc: object.union(pip.meta[doc], patch)})

without_meta(doc) := object.remove(pip.meta, [doc])
