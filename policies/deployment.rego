# METADATA
# title: Deployment decisions
# description: |
#   May a requester roll an application version out to a ring (or to a set of
#   devices)? Query data.pip_policy.deployment.decision with input:
#
#     {"requester": "ops@example.com", "application": "chrome",
#      "version": "126.0", "ring": "pilot", "risk_score": 30,
#      "targets": ["C02XK1JHJG5H", ...],     # optional; default: the ring's devices
#      "change_number": "CHG0030001",        # needed when risk_score > threshold
#      "time": "2026-03-02T10:00:00Z"}       # optional; default: now
#
#   The answer is {"allow", "reasons", "denied", "passed", "checks", "targets",
#   "documents"}: `reasons` are the deny reasons when denied and the passed
#   checks when allowed. Each check is kept twice: a positive rule in `checks`
#   that must be true, and deny rules that explain why it is not. `allow` needs
#   both, so data missing anywhere denies instead of allowing.
package pip_policy.deployment

import data.pip_policy.lib.freshness
import data.pip_policy.lib.rbac
import data.pip_policy.lib.rings
import data.pip_policy.lib.timestamps

config := data.pip_policy.config.deployment

# ---------------------------------------------------------------- the answer

checks := {
	"input": input_ok,
	"fresh_data": fresh_ok,
	"requester": requester_ok,
	"ring_promotion": promotion_ok,
	"targets": targets_ok,
	"change_approval": change_ok,
	"vulnerabilities": vulnerabilities_ok,
}

failed_checks := sort([name | some name, ok in checks; ok != true])

default allow := false

allow if {
	count(deny) == 0
	count(failed_checks) == 0
}

reasons := sort(deny) if {
	count(deny) > 0
} else := [sprintf("check %s did not pass", [name]) | some name in failed_checks] if {
	count(failed_checks) > 0
} else := sort(passed)

decision := {
	"allow": allow,
	"reasons": reasons,
	"denied": sort(deny),
	"passed": sort(passed),
	"checks": checks,
	"targets": target_summary,
	"documents": sort(needed_docs),
}

# ---------------------------------------------------------------- input

default input_ok := false

input_ok if {
	configured
	every field in required_fields {
		string_field(field)
	}
	valid_risk_score
	decision_ns
	valid_targets_input
}

configured if {
	is_object(config)
	count(rings.names) > 0
}

deny contains "policy configuration data.pip_policy.config (deployment, rings) is missing; refusing to decide" if {
	not configured
}

required_fields := ["requester", "application", "version", "ring"]

deny contains sprintf("input.%s is required (a string)", [field]) if {
	some field in required_fields
	not string_field(field)
}

# Negations below test helper rules, never a call on a possibly undefined ref:
# OPA hoists such a ref out of `not` (`not f(x.y)` is undefined when x.y is),
# which would make a missing field pass a check.
string_field(field) if is_string(input[field])

deny contains "input.risk_score is required (a number from 0 to 100)" if not valid_risk_score

valid_risk_score if {
	is_number(input.risk_score)
	input.risk_score >= 0
	input.risk_score <= 100
}

valid_targets_input if not input.targets

valid_targets_input if is_array(input.targets)

deny contains "input.targets must be a list of device keys" if not valid_targets_input

has_time if input.time

# decision_ns is the deployment time: input.time, else OPA's clock.
decision_ns := timestamps.ns(input.time) if has_time

decision_ns := time.now_ns() if not has_time

deny contains sprintf("input.time %v is not an RFC 3339 timestamp", [input.time]) if {
	has_time
	not decision_ns
}

# ---------------------------------------------------------------- freshness

needed_docs contains "identity/users"

needed_docs contains "assets/devices"

needed_docs contains "assets/device_index"

needed_docs contains "releases/applications"

needed_docs contains "releases/deployments" if previous_ring

needed_docs contains "releases/deployment_index" if previous_ring

needed_docs contains "itsm/changes" if cab_required

default fresh_ok := false

fresh_ok if freshness.fresh(needed_docs)

deny contains msg if some msg in freshness.problems(needed_docs)

passed contains sprintf("policy data is fresh: %s", [concat(", ", sort(needed_docs))]) if fresh_ok

# ---------------------------------------------------------------- requester

requester := rbac.key(input.requester)

default requester_ok := false

requester_ok if {
	rbac.enabled(requester)
	rbac.has_any_role(requester, config.requester_roles)
}

deny contains sprintf("requester %s is not in the identity data", [requester]) if {
	requester
	not rbac.user(requester)
}

deny contains sprintf("requester %s is disabled", [requester]) if {
	rbac.user(requester)
	not rbac.enabled(requester)
}

deny contains sprintf("requester %s holds none of the roles %s through an identity group", [
	requester,
	concat(", ", config.requester_roles),
]) if {
	rbac.user(requester)
	not rbac.has_any_role(requester, config.requester_roles)
}

passed contains sprintf("requester %s is enabled and holds %s", [
	requester,
	concat(", ", sort(rbac.roles_held(requester, config.requester_roles))),
]) if {
	requester_ok
}

# ---------------------------------------------------------------- ring order

ring_name := lower(input.ring)

target_ring := rings.ring(ring_name)

previous_ring := rings.previous(ring_name)

deny contains sprintf("unknown ring %s; rings in order: %s", [input.ring, concat(" -> ", rings.names)]) if {
	is_string(input.ring)
	not target_ring
}

default promotion_ok := false

promotion_ok if rings.index(ring_name) == 0

promotion_ok if count(qualifying_rollouts) > 0

passed contains sprintf("%s is the first ring: no promotion prerequisite", [ring_name]) if {
	rings.index(ring_name) == 0
}

# Rollouts of this application version in the previous ring, by deployment key:
# the rollout index names them, so only those rollouts are read. Each is checked
# again, so an index that lags its document can only find fewer.
previous_rollouts := {key: rollout |
	some key, _ in data.pip.releases.deployment_index[input.application][input.version][previous_ring.name]
	rollout := data.pip.releases.deployments[key]
	[rollout.application, rollout.version, rollout.ring] == [input.application, input.version, previous_ring.name]
}

# A rollout qualifies when its status, success rate and time in ring meet the
# thresholds the target ring sets for its predecessor.
qualifies(rollout) if {
	rollout.status in config.previous_ring_statuses
	rollout.success_rate >= target_ring.min_previous_success_rate
	hours_in_ring(rollout) >= target_ring.min_hours_in_previous
}

hours_in_ring(rollout) := rings.hours_between(timestamps.ns(rollout.started_at), decision_ns)

qualifying_rollouts := sort([key | some key, rollout in previous_rollouts; qualifies(rollout)])

deny contains sprintf("%s %s has no rollout in the %s ring; it must pass %s before %s", [
	input.application, input.version, previous_ring.name, previous_ring.name, ring_name,
]) if {
	previous_ring
	count(previous_rollouts) == 0
}

deny contains sprintf("%s %s may not enter %s: %s rollout %s: %s", [
	input.application, input.version, ring_name, previous_ring.name, key,
	concat("; ", rollout_problems(previous_rollouts[key])),
]) if {
	previous_ring
	count(previous_rollouts) > 0
	count(qualifying_rollouts) == 0
	some key in array.slice(sort(object.keys(previous_rollouts)), 0, 3)
}

# Explanations only: `qualifies` decides.
rollout_problems(rollout) := [status_text(rollout), rate_text(rollout), hours_text(rollout)]

status_text(rollout) := sprintf("status %v (needs %s)", [rollout.status, concat(" or ", config.previous_ring_statuses)]) if {
	rollout.status
} else := "no status"

rate_text(rollout) := sprintf("success rate %v%% (needs %v%%)", [
	percent(rollout.success_rate), percent(target_ring.min_previous_success_rate),
]) if {
	is_number(rollout.success_rate)
} else := "no success rate"

hours_text(rollout) := sprintf("%v h in ring (needs %v h)", [
	round(hours_in_ring(rollout)), target_ring.min_hours_in_previous,
]) if {
	hours_in_ring(rollout)
} else := "no start time"

percent(rate) := round(rate * 1000) / 10

passed contains sprintf("%s %s passed %s: rollout %s, %s, %s", [
	input.application, input.version, previous_ring.name, key,
	rate_text(previous_rollouts[key]), hours_text(previous_rollouts[key]),
]) if {
	key := qualifying_rollouts[0]
}

# ---------------------------------------------------------------- targets

# Cost matters here (25,000 targets in a Department rollout). Looking devices up
# one by one in data.pip.assets.devices makes OPA convert every device object
# it touches: hundreds of milliseconds. So the checks work on sets instead: the
# device index (data.pip.assets.device_index, built with the devices document)
# files device keys by status, ring, compliance score band and MDM verdict, and
# OPA intersects those sets with the targets in Go, reading only the buckets the
# thresholds select. Measure with benchmarks/policy_decisions.py.

index := data.pip.assets.device_index

# The index has every part the checks read. Without it nothing is eligible.
index_ok if {
	is_object(index.status)
	is_object(index.ring)
	is_object(index.compliance_score)
	is_object(index.mdm_noncompliant)
	is_object(index.missing.status)
	is_object(index.missing.compliance_score)
}

deny contains "the device index data.pip.assets.device_index is missing or incomplete; no target can be checked" if {
	not index_ok
}

min_score := config.min_compliance_score if is_number(config.min_compliance_score)

deny contains "policy configuration min_compliance_score must be a number; no target can be checked" if {
	configured
	not min_score
}

default targets := set()

# Explicit device keys, or every device of the ring (every device for an
# unbounded ring such as Global).
targets := {k | some k in input.targets} if is_array(input.targets)

targets := object.keys(index.ring[ring_name]) if {
	not input.targets
	rings.max_targets(ring_name)
}

targets := known_devices if {
	not input.targets
	target_ring
	not rings.max_targets(ring_name)
}

# Each category is empty without the index (or, for scores, a numeric
# threshold): `targets_ok` then fails on its own, and the deny rules above say why.

# Every device has a status or is listed as missing one.
known_devices := union({object.keys(status_keys) | some status_keys in index.status}) | object.keys(index.missing.status)

default unknown_targets := set()

unknown_targets := targets - known_devices if index_ok

default inactive_targets := set()

inactive_targets := targets & union({object.keys(status_keys) |
	some status, status_keys in index.status
	not status in config.allowed_device_statuses
}) if index_ok

# Scores are filed by their integer part (0 to 100; a negative score counts as
# missing): every band below the threshold's, and the scores below the threshold
# inside its band. Only those bands are read.
default low_score_targets := set()

low_score_targets := targets & (low_bands | low_in_threshold_band) if {
	index_ok
	is_number(min_score)
}

low_bands := union({object.keys(band_scores) |
	some band in numbers.range(0, floor(min_score) - 1)
	band < floor(min_score) # numbers.range counts down when the threshold is below 1
	band_scores := index.compliance_score[format_int(band, 10)]
})

low_in_threshold_band := {k |
	some k, score in index.compliance_score[format_int(floor(min_score), 10)]
	score < min_score
}

default mdm_noncompliant_targets := set()

mdm_noncompliant_targets := targets & object.keys(index.mdm_noncompliant) if index_ok

default lacking_targets := set()

lacking_targets := targets & (object.keys(index.missing.status) | object.keys(index.missing.compliance_score)) if index_ok

violating_targets := (((unknown_targets | inactive_targets) | low_score_targets) | mdm_noncompliant_targets) | lacking_targets

# Known devices that lack a status or a compliance score (and fail no other check).
incomplete_targets := (((violating_targets - unknown_targets) - inactive_targets) - low_score_targets) - mdm_noncompliant_targets

within_ring_size if count(targets) <= rings.max_targets(ring_name)

within_ring_size if {
	target_ring
	not rings.max_targets(ring_name)
}

default targets_ok := false

targets_ok if {
	index_ok
	is_number(min_score)
	count(targets) > 0
	within_ring_size
	count(violating_targets) == 0
}

deny contains sprintf("no target devices: none given and no device is in the %s ring", [ring_name]) if {
	count(targets) == 0
}

deny contains sprintf("%d target devices exceed the %s ring's size of %d", [
	count(targets), ring_name, rings.max_targets(ring_name),
]) if {
	count(targets) > rings.max_targets(ring_name)
}

listed_violators := array.slice(sort(violating_targets), 0, config.max_listed_targets)

target_problems(k) := sort([problem |
	some problem, keys in {
		"unknown device": unknown_targets,
		"not active": inactive_targets,
		sprintf("compliance score below %v", [config.min_compliance_score]): low_score_targets,
		"non-compliant in MDM": mdm_noncompliant_targets,
		"no status or compliance score": incomplete_targets,
	}
	k in keys
])

target_summary := {
	"count": count(targets),
	"violating": count(violating_targets),
	"unknown": count(unknown_targets),
	"not_active": count(inactive_targets),
	"low_compliance_score": count(low_score_targets),
	"mdm_noncompliant": count(mdm_noncompliant_targets),
	"incomplete": count(incomplete_targets),
	"violators": [{"device": k, "problems": target_problems(k)} | some k in listed_violators],
}

deny contains sprintf(
	"%d of %d target devices are not eligible (%d unknown, %d not active, %d with compliance score below %v, %d non-compliant in MDM, %d without status or score); first %d: %s",
	[
		count(violating_targets), count(targets), count(unknown_targets), count(inactive_targets),
		count(low_score_targets), config.min_compliance_score, count(mdm_noncompliant_targets),
		count(incomplete_targets), count(listed_violators), concat(", ", listed_violators),
	],
) if {
	count(violating_targets) > 0
}

passed contains sprintf("all %d target devices are active and compliant (score >= %v, no MDM non-compliance)", [
	count(targets), config.min_compliance_score,
]) if {
	targets_ok
}

# ---------------------------------------------------------------- change and CAB

cab_required if input.risk_score > config.cab_risk_threshold

change_key := upper(trim_space(input.change_number))

change := data.pip.itsm.changes[change_key]

# The CAB rules (package pip.cab) applied to the approvals recorded on the change.
cab_decision := verdict if {
	change
	verdict := data.pip_policy.cab.decision with input as {"change": change_key}
}

default change_ok := false

change_ok if {
	valid_risk_score
	not cab_required
}

change_ok if {
	cab_required
	change_approved
	change_state_ok
	cab_decision.allow == true
	inside_change_window
}

deny contains sprintf("risk score %v is above %v: a linked change with CAB approval is required (input.change_number)", [
	input.risk_score, config.cab_risk_threshold,
]) if {
	cab_required
	not string_field("change_number")
}

deny contains sprintf("linked change %s is not in the ITSM data", [change_key]) if {
	cab_required
	change_key
	not change
}

deny contains sprintf("change %s is not approved (approval: %v)", [change_key, object.get(change, "approval", "none")]) if {
	cab_required
	change
	not change_approved
}

change_approved if change.approval == "approved"

change_state_ok if change.state in config.change_states

deny contains sprintf("change %s is in state %v; deployments need one of %s", [
	change_key, object.get(change, "state", "none"), concat(", ", config.change_states),
]) if {
	cab_required
	change
	not change_state_ok
}

deny contains sprintf("change %s lacks CAB approval: %s", [change_key, reason]) if {
	cab_required
	not cab_decision.allow
	some reason in cab_decision.reasons
}

deny contains sprintf("deployment time %s is outside the window of change %s (%v to %v)", [
	time.format(decision_ns), change_key,
	object.get(change, "planned_start", "unset"), object.get(change, "planned_end", "unset"),
]) if {
	cab_required
	change
	not inside_change_window
}

inside_change_window if {
	timestamps.ns(change.planned_start) <= decision_ns
	decision_ns <= timestamps.ns(change.planned_end)
}

passed contains sprintf("risk score %v needs CAB: change %s is approved by the CAB and %s is inside its window", [
	input.risk_score, change_key, time.format(decision_ns),
]) if {
	cab_required
	change_ok
}

passed contains sprintf("risk score %v is at most %v: no CAB approval needed", [
	input.risk_score, config.cab_risk_threshold,
]) if {
	valid_risk_score
	not cab_required
}

# ---------------------------------------------------------------- vulnerabilities

application := data.pip.releases.applications[input.application]

# Critical/High findings on this version (a finding without a version applies to all).
blocking_findings := [finding |
	some finding in application.vulnerabilities
	lower(finding.severity) in config.blocking_severities
	finding_applies(finding)
]

finding_applies(finding) if not finding.version

finding_applies(finding) if finding.version == input.version

unexcepted_findings := sort({finding_text(finding) | some finding in blocking_findings; not excepted(finding)})

excepted_findings := sort({finding_text(finding) | some finding in blocking_findings; excepted(finding)})

excepted(finding) if finding.exception == true

finding_text(finding) := sprintf("%v (%v)", [finding.id, finding.severity])

known_version if not application.versions

known_version if input.version in application.versions

default vulnerabilities_ok := false

vulnerabilities_ok if {
	application
	known_version
	count([finding | some finding in blocking_findings; not excepted(finding)]) == 0
}

deny contains sprintf("application %s is not in the release data", [input.application]) if {
	is_string(input.application)
	not application
}

deny contains sprintf("version %s is not a known version of %s (%s)", [
	input.version, input.application, concat(", ", application.versions),
]) if {
	application
	not known_version
}

deny contains sprintf("%s %s has %s vulnerabilities without a recorded exception: %s", [
	input.application, input.version, concat("/", config.blocking_severities),
	concat(", ", array.slice(unexcepted_findings, 0, config.max_listed_targets)),
]) if {
	count(unexcepted_findings) > 0
}

passed contains sprintf("%s %s has no %s vulnerabilities", [
	input.application, input.version, concat("/", config.blocking_severities),
]) if {
	vulnerabilities_ok
	count(blocking_findings) == 0
}

passed contains sprintf("%s %s: exceptions are recorded for %s", [
	input.application, input.version, concat(", ", excepted_findings),
]) if {
	vulnerabilities_ok
	count(excepted_findings) > 0
}
