package pip_policy.deployment_test

import data.pip_policy.deployment
import data.pip_policy.fixtures_test as fx

decide(request) := d if {
	d := deployment.decision with input as request with data.pip as fx.pip
}

request(patch) := object.union(fx.pilot_request, patch)

denied_with(d, fragment) if {
	d.allow == false
	some reason in d.reasons
	contains(reason, fragment)
}

passed_with(d, fragment) if {
	some reason in d.passed
	contains(reason, fragment)
}

# ---------------------------------------------------------------- allowed rollouts

test_compliant_pilot_rollout_is_allowed if {
	d := decide(fx.pilot_request)
	d.allow == true
	d.denied == []
	d.reasons == d.passed
	d.targets.count == 3
	"all 3 target devices are active and compliant (score >= 80, no MDM non-compliance)" in d.reasons
}

test_allow_reasons_cover_every_check if {
	d := decide(fx.pilot_request)
	every _, ok in d.checks {
		ok == true
	}
	passed_with(d, "requester ops@example.com is enabled and holds operator")
	passed_with(d, "chrome 126.0 passed canary: rollout DEP-1, success rate 99% (needs 95%)")
	passed_with(d, "risk score 30 is at most 50: no CAB approval needed")
	passed_with(d, "policy data is fresh")
}

test_admin_may_deploy if {
	decide(request({"requester": "ADMIN@example.com "})).allow == true
}

test_first_ring_needs_no_previous_rollout if {
	d := decide(request({"ring": "lab", "version": "130.0"}))
	d.allow == true
	passed_with(d, "lab is the first ring")
	d.targets.count == 1
}

test_explicit_device_set_replaces_ring_members if {
	d := decide(request({"targets": ["PILOT001", "LAB001"]}))
	d.allow == true
	d.targets.count == 2
}

# ---------------------------------------------------------------- input

test_missing_input_denies_with_each_field if {
	d := decide({})
	d.allow == false
	"input.requester is required (a string)" in d.reasons
	"input.ring is required (a string)" in d.reasons
	"input.risk_score is required (a number from 0 to 100)" in d.reasons
	d.checks.input == false
}

test_bad_time_denied if {
	denied_with(decide(request({"time": "next tuesday"})), "input.time next tuesday is not an RFC 3339 timestamp")
}

test_missing_policy_configuration_fails_closed if {
	d := deployment.decision with input as fx.pilot_request with data.pip as fx.pip with data.pip_policy.config as {}
	d.allow == false
	denied_with(d, "policy configuration data.pip_policy.config (deployment, rings) is missing")
}

# ---------------------------------------------------------------- requester

test_requester_without_operator_or_admin_role_denied if {
	denied_with(decide(request({"requester": "viewer@example.com"})), "holds none of the roles admin, operator")
}

test_disabled_requester_denied if {
	denied_with(decide(request({"requester": "gone@example.com"})), "requester gone@example.com is disabled")
}

test_unknown_requester_denied if {
	denied_with(decide(request({"requester": "who@example.com"})), "requester who@example.com is not in the identity data")
}

test_requester_roles_come_from_data if {
	d := deployment.decision with input as request({"requester": "viewer@example.com"})
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.requester_roles as ["viewer"]
	d.allow == true
}

# ---------------------------------------------------------------- ring order and promotion

test_unknown_ring_denied if {
	denied_with(decide(request({"ring": "moon"})), "unknown ring moon; rings in order: lab -> canary -> pilot -> department -> global")
}

test_version_must_pass_previous_ring if {
	denied_with(decide(request({"version": "130.0"})), "chrome 130.0 has no rollout in the canary ring; it must pass canary before pilot")
}

test_low_success_rate_in_previous_ring_denied if {
	d := decide(request({"version": "127.0"}))
	denied_with(d, "chrome 127.0 may not enter pilot: canary rollout DEP-2")
	denied_with(d, "success rate 90% (needs 95%)")
	d.checks.ring_promotion == false
}

test_short_time_in_previous_ring_denied if {
	denied_with(decide(request({"version": "128.0"})), "14 h in ring (needs 48 h)")
}

test_time_in_ring_counts_up_to_the_deployment_time if {
	decide(request({"version": "128.0", "time": "2026-03-03T21:00:00Z"})).allow == true
}

test_promotion_thresholds_come_from_data if {
	rings := json.patch(data.pip_policy.config.rings, [{"op": "replace", "path": "/2/min_previous_success_rate", "value": 0.89}])
	d := deployment.decision with input as request({"version": "127.0"}) with data.pip as fx.pip with data.pip_policy.config.rings as rings
	d.allow == true
}

test_ring_size_limit_enforced if {
	rings := json.patch(data.pip_policy.config.rings, [{"op": "replace", "path": "/2/max_targets", "value": 2}])
	d := deployment.decision with input as fx.pilot_request with data.pip as fx.pip with data.pip_policy.config.rings as rings
	denied_with(d, "3 target devices exceed the pilot ring's size of 2")
}

test_seed_ring_sizes_in_data if {
	sizes := {r.name: object.get(r, "max_targets", "all") | some r in data.pip_policy.config.rings}
	sizes == {"lab": 50, "canary": 500, "pilot": 5000, "department": 25000, "global": "all"}
}

test_global_ring_targets_every_device if {
	d := deployment.decision with input as request({"ring": "global"})
		with data.pip as fx.pip
		with data.pip.releases.deployments as {"D": object.union(fx.pip.releases.deployments["DEP-1"], {"ring": "department"})}
	d.targets.count == count(fx.pip.assets.devices)
}

test_no_target_devices_denied if {
	denied_with(decide(request({"ring": "canary"})), "no target devices: none given and no device is in the canary ring")
}

# ---------------------------------------------------------------- target devices

bad_targets := ["PILOT001", "LOWSCORE1", "INACTIVE1", "NONCOMP1", "NOSCORE1", "UNKNOWN1"]

test_non_compliant_targets_denied_with_counts if {
	d := decide(request({"targets": bad_targets}))
	d.targets.count == 6
	d.targets.violating == 5
	d.targets.unknown == 1
	d.targets.not_active == 1
	d.targets.low_compliance_score == 1
	d.targets.mdm_noncompliant == 1
	d.targets.incomplete == 1
	denied_with(d, "5 of 6 target devices are not eligible (1 unknown, 1 not active, 1 with compliance score below 80, 1 non-compliant in MDM, 1 without status or score); first 5: INACTIVE1, LOWSCORE1, NONCOMP1, NOSCORE1, UNKNOWN1")
}

test_violators_listed_with_their_problems if {
	d := decide(request({"targets": bad_targets}))
	{"device": "NONCOMP1", "problems": ["non-compliant in MDM"]} in d.targets.violators
	{"device": "UNKNOWN1", "problems": ["unknown device"]} in d.targets.violators
	{"device": "NOSCORE1", "problems": ["no status or compliance score"]} in d.targets.violators
	{"device": "LOWSCORE1", "problems": ["compliance score below 80"]} in d.targets.violators
}

test_violator_list_is_bounded_and_sorted if {
	d := deployment.decision with input as request({"targets": bad_targets})
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.max_listed_targets as 2
	[v.device | some v in d.targets.violators] == ["INACTIVE1", "LOWSCORE1"]
	d.targets.violating == 5
	denied_with(d, "first 2: INACTIVE1, LOWSCORE1")
}

# The index files scores by integer part: a threshold inside a band checks the
# exact scores there; whole bands below it are low.
test_threshold_inside_a_score_band_checks_exact_scores if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.min_compliance_score as 80.5
	d.targets.low_compliance_score == 1
	{"device": "PILOT003", "problems": ["compliance score below 80.5"]} in d.targets.violators
}

test_bands_below_the_threshold_are_low if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.min_compliance_score as 90
	d.targets.low_compliance_score == 2
	[v.device | some v in d.targets.violators] == ["PILOT002", "PILOT003"]
}

test_a_negative_score_is_no_score if {
	devices := object.union(fx.devices, {"PILOT003": object.union(fx.devices.PILOT003, {"compliance_score": -5})})
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.assets.device_index as fx.device_index(devices)
		with data.pip_policy.config.deployment.min_compliance_score as -10
	d.targets.violators == [{"device": "PILOT003", "problems": ["no status or compliance score"]}]
}

test_a_score_above_100_is_read_in_the_top_band if {
	devices := object.union(fx.devices, {"PILOT003": object.union(fx.devices.PILOT003, {"compliance_score": 130})})
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.assets.device_index as fx.device_index(devices)
		with data.pip_policy.config.deployment.min_compliance_score as 100
	[v.device | some v in d.targets.violators] == ["PILOT001", "PILOT002"]
}

test_a_threshold_below_1_reads_band_0_exactly if {
	devices := object.union(fx.devices, {"PILOT003": object.union(fx.devices.PILOT003, {"compliance_score": 0.7})})
	allowed := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.assets.device_index as fx.device_index(devices)
		with data.pip_policy.config.deployment.min_compliance_score as 0.5
	allowed.allow == true
	denied := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.assets.device_index as fx.device_index(devices)
		with data.pip_policy.config.deployment.min_compliance_score as 0.9
	denied.targets.violators == [{"device": "PILOT003", "problems": ["compliance score below 0.9"]}]
}

test_missing_device_index_fails_closed if {
	some broken in [{}, object.remove(fx.pip.assets.device_index, ["missing"]), {"status": []}]
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.assets.device_index as broken
	denied_with(d, "the device index data.pip.assets.device_index is missing or incomplete")
	d.checks.targets == false
}

test_device_index_without_a_device_makes_it_unknown if {
	devices := object.remove(fx.devices, ["PILOT002"])
	d := deployment.decision with input as request({"targets": ["PILOT001", "PILOT002"]})
		with data.pip as fx.pip
		with data.pip.assets.device_index as fx.device_index(devices)
	d.targets.violators == [{"device": "PILOT002", "problems": ["unknown device"]}]
}

test_non_numeric_compliance_threshold_fails_closed if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.min_compliance_score as "80"
	denied_with(d, "policy configuration min_compliance_score must be a number")
	d.checks.targets == false
}

test_compliance_threshold_comes_from_data if {
	d := deployment.decision with input as request({"targets": ["PILOT001", "LOWSCORE1"]})
		with data.pip as fx.pip
		with data.pip_policy.config.deployment.min_compliance_score as 60
	d.allow == true
}

test_score_exactly_at_threshold_is_compliant if {
	# PILOT003 has a score of exactly 80.
	decide(request({"targets": ["PILOT003"]})).allow == true
}

# ---------------------------------------------------------------- change and CAB

test_high_risk_without_change_denied if {
	d := decide(request({"risk_score": 70}))
	denied_with(d, "risk score 70 is above 50: a linked change with CAB approval is required (input.change_number)")
	d.checks.change_approval == false
}

test_risk_of_exactly_50_needs_no_change if {
	decide(request({"risk_score": 50})).allow == true
}

test_high_risk_with_cab_approved_change_allowed if {
	d := decide(request({"risk_score": 70, "change_number": "chg0001"}))
	d.allow == true
	passed_with(d, "change CHG0001 is approved by the CAB and 2026-03-02T10:00:00Z is inside its window")
}

test_high_risk_with_unapproved_change_denied if {
	d := decide(request({"risk_score": 70, "change_number": "CHG0002"}))
	denied_with(d, "change CHG0002 is not approved (approval: requested)")
	denied_with(d, "change CHG0002 lacks CAB approval: quorum not met: 1 of 3")
	denied_with(d, "change CHG0002 is in state authorize")
}

test_approved_change_still_needs_cab_quorum if {
	# ITSM says approved, but only two CAB members approved a high-risk change.
	changes := object.union(fx.pip.itsm.changes, {"CHG0001": object.union(
		fx.pip.itsm.changes.CHG0001,
		{"approvals": array.slice(fx.pip.itsm.changes.CHG0001.approvals, 0, 2)},
	)})
	d := deployment.decision with input as request({"risk_score": 70, "change_number": "CHG0001"})
		with data.pip as fx.pip
		with data.pip.itsm.changes as changes
	denied_with(d, "change CHG0001 lacks CAB approval: quorum not met: 2 of 3")
}

test_deployment_outside_change_window_denied if {
	d := decide(request({"risk_score": 70, "change_number": "CHG0001", "time": "2026-03-02T19:00:00Z"}))
	d.checks.change_approval == false
	denied_with(d, "deployment time 2026-03-02T19:00:00Z is outside the window of change CHG0001 (2026-03-02T08:00:00Z to 2026-03-02T18:00:00Z)")
}

test_unknown_change_denied if {
	denied_with(decide(request({"risk_score": 90, "change_number": "CHG9999"})), "linked change CHG9999 is not in the ITSM data")
}

# ---------------------------------------------------------------- vulnerabilities

test_critical_vulnerability_blocks if {
	d := decide(request({"version": "129.0"}))
	denied_with(d, "chrome 129.0 has critical/high vulnerabilities without a recorded exception: CVE-2026-0001 (critical)")
	d.checks.vulnerabilities == false
}

test_recorded_exception_allows_and_is_reported if {
	d := decide(fx.pilot_request)
	passed_with(d, "chrome 126.0: exceptions are recorded for CVE-2026-0002 (high)")
}

test_finding_without_version_applies_to_every_version if {
	apps := {"chrome": object.union(fx.pip.releases.applications.chrome, {"vulnerabilities": [{"id": "CVE-X", "severity": "High"}]})}
	d := deployment.decision with input as fx.pilot_request with data.pip as fx.pip with data.pip.releases.applications as apps
	denied_with(d, "CVE-X (High)")
}

test_unknown_application_denied if {
	denied_with(decide(request({"application": "winamp"})), "application winamp is not in the release data")
}

test_unknown_version_denied if {
	denied_with(decide(request({"version": "999"})), "version 999 is not a known version of chrome")
}

# ---------------------------------------------------------------- freshness

test_stale_device_data_denied if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("assets/devices", {"stale": true})
	denied_with(d, "assets/devices data is stale (last refreshed 2026-03-02T09:55:00Z); refusing to decide on it")
	d.checks.fresh_data == false
}

test_stale_device_index_denied if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("assets/device_index", {"stale": true})
	denied_with(d, "assets/device_index data is stale")
	d.checks.fresh_data == false
}

test_stale_identity_data_denied if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("identity/users", {"stale": true})
	denied_with(d, "identity/users data is stale")
}

test_missing_meta_fails_closed if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.without_meta("releases/applications")
	denied_with(d, "no freshness metadata for releases/applications in data.pip.meta")
}

test_expired_data_denied_by_opa_clock if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with time.now_ns as time.parse_rfc3339_ns("2099-01-02T00:00:00Z")
	denied_with(d, "assets/devices data expired at 2099-01-01T00:00:00Z")
}

test_change_data_only_needed_for_high_risk if {
	low := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("itsm/changes", {"stale": true})
	low.allow == true
	not "itsm/changes" in low.documents

	high := deployment.decision with input as request({"risk_score": 70, "change_number": "CHG0001"})
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("itsm/changes", {"stale": true})
	denied_with(high, "itsm/changes data is stale")
}

test_deployment_data_not_needed_for_first_ring if {
	d := deployment.decision with input as request({"ring": "lab"})
		with data.pip as fx.pip
		with data.pip.meta as object.remove(fx.pip.meta, ["releases/deployments", "releases/deployment_index"])
	d.allow == true
}

# ---------------------------------------------------------------- rollout index

test_rollouts_are_found_through_the_rollout_index if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.releases.deployment_index as {}
	denied_with(d, "chrome 126.0 has no rollout in the canary ring")
}

test_missing_rollout_index_metadata_fails_closed if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.without_meta("releases/deployment_index")
	denied_with(d, "no freshness metadata for releases/deployment_index in data.pip.meta")
}

test_stale_rollout_index_denied if {
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("releases/deployment_index", {"stale": true})
	denied_with(d, "releases/deployment_index data is stale")
}

test_a_rollout_the_index_misfiles_is_not_counted if {
	misfiled := {"chrome": {"126.0": {"canary": {"DEP-2": true}}}}
	d := deployment.decision with input as fx.pilot_request
		with data.pip as fx.pip
		with data.pip.releases.deployment_index as misfiled
	denied_with(d, "chrome 126.0 has no rollout in the canary ring")
}
