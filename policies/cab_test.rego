package pip_policy.cab_test

import data.pip_policy.cab
import data.pip_policy.fixtures_test as fx

decide(request) := d if {
	d := cab.decision with input as request with data.pip as fx.pip
}

# inline(patch) is a change object (not looked up by number) based on CHG0001;
# object.union merges nested objects, so use with_evidence to replace evidence.
inline(patch) := object.union(fx.pip.itsm.changes.CHG0001, patch)

with_evidence(evidence) := object.union(object.remove(fx.pip.itsm.changes.CHG0001, ["evidence"]), {"evidence": evidence})

votes(approvers) := [{"approver": a, "vote": "approve"} | some a in approvers]

denied_with(d, fragment) if {
	d.allow == false
	some reason in d.reasons
	contains(reason, fragment)
}

passed_with(d, fragment) if {
	some reason in d.passed
	contains(reason, fragment)
}

# ---------------------------------------------------------------- quorum by risk band

test_recorded_cab_approvals_meet_quorum if {
	d := decide({"change": "chg0001"})
	d.allow == true
	d.change == "CHG0001"
	d.risk_band == "high"
	d.quorum == 3
	d.approvals == ["cab1@example.com", "cab2@example.com", "cab3@example.com"]
	passed_with(d, "quorum met: 3 of 3 approvals from enabled CAB members for high risk")
	passed_with(d, "evidence pack complete")
	passed_with(d, "separation of duties: the requester dev@example.com did not approve")
}

test_quorum_not_met_for_high_risk if {
	d := decide({"change": "CHG0001", "votes": votes(["cab1@example.com", "cab2@example.com"])})
	denied_with(d, "quorum not met: 2 of 3 approvals from enabled CAB members for high risk")
	d.checks.quorum == false
}

test_moderate_risk_needs_two if {
	d := decide({"change": "CHG0003"})
	d.risk_band == "moderate"
	d.quorum == 2
	d.allow == true
}

test_band_boundaries_come_from_data if {
	decide({"change": inline({"risk_score": 70}), "approvers": ["cab1@example.com", "cab2@example.com"]}).allow == true
	denied_with(
		decide({"change": inline({"risk_score": 71}), "approvers": ["cab1@example.com", "cab2@example.com"]}),
		"quorum not met: 2 of 3",
	)
	d := decide({"change": inline({"risk_score": 0}), "approvers": ["cab1@example.com"]})
	d.risk_band == "low"
	d.allow == true
	decide({"change": inline({"risk_score": 100})}).quorum == 4
}

test_risk_bands_cover_every_score_once if {
	every score in numbers.range(0, 100) {
		count([b | some b in data.pip_policy.config.cab.risk_bands; b.min_score <= score; score <= b.max_score]) == 1
	}
}

test_quorums_are_configurable if {
	bands := json.patch(data.pip_policy.config.cab.risk_bands, [{"op": "replace", "path": "/2/quorum", "value": 1}])
	d := cab.decision with input as {"change": "CHG0002"} with data.pip as fx.pip with data.pip_policy.config.cab.risk_bands as bands
	d.allow == true
}

test_band_from_risk_name_without_score if {
	d := decide({"change": json.remove(inline({"risk": "very_high"}), ["risk_score"]), "approvers": ["cab1@example.com"]})
	d.risk_band == "very_high"
	denied_with(d, "quorum not met: 1 of 4")
}

test_no_risk_at_all_denied if {
	d := decide({"change": json.remove(inline({}), ["risk_score"])})
	denied_with(d, "change CHG0001 has no risk score or risk band; the CAB quorum cannot be chosen")
	d.quorum == null
}

# ---------------------------------------------------------------- who may approve

test_requester_cannot_approve_own_change if {
	# dev@example.com requested CHG0001 and is a CAB member.
	d := decide({"change": "CHG0001", "votes": votes(["dev@example.com", "cab1@example.com", "cab2@example.com", "cab3@example.com"])})
	denied_with(d, "separation of duties: dev@example.com requested change CHG0001 and cannot approve it")
	"dev@example.com: is the requester of the change" in d.ignored_votes
	d.checks.separation_of_duties == false
}

test_self_approval_does_not_count_towards_quorum if {
	d := decide({"change": "CHG0001", "votes": votes(["dev@example.com", "cab1@example.com", "cab2@example.com"])})
	denied_with(d, "quorum not met: 2 of 3")
}

test_non_members_are_not_counted if {
	d := decide({"change": "CHG0001", "votes": votes(["ops@example.com", "cab1@example.com", "cab2@example.com"])})
	denied_with(d, "quorum not met: 2 of 3 approvals from enabled CAB members for high risk (not counted: ops@example.com: is not a member of the CAB group cab)")
}

test_disabled_members_are_not_counted if {
	d := decide({"change": "CHG0001", "approvers": ["cab-off@example.com", "cab1@example.com", "cab2@example.com"]})
	"cab-off@example.com: is disabled" in d.ignored_votes
	d.allow == false
}

test_unknown_approvers_are_not_counted if {
	d := decide({"change": "CHG0001", "approvers": ["ghost@example.com", "cab1@example.com", "cab2@example.com"]})
	"ghost@example.com: is not in the identity data" in d.ignored_votes
	d.allow == false
}

test_duplicate_votes_count_once if {
	d := decide({"change": "CHG0001", "approvers": ["cab1@example.com", "CAB1@example.com", "cab2@example.com"]})
	d.approvals == ["cab1@example.com", "cab2@example.com"]
	d.allow == false
}

test_cab_group_comes_from_data if {
	d := cab.decision with input as {"change": "CHG0001"} with data.pip as fx.pip with data.pip_policy.config.cab.group as "it-ops"
	denied_with(d, "quorum not met: 1 of 3")
}

test_input_votes_replace_recorded_approvals if {
	d := decide({"change": "CHG0002", "votes": votes(["cab2@example.com", "cab3@example.com", "cab4@example.com"])})
	d.allow == true
	d.approvals == ["cab2@example.com", "cab3@example.com", "cab4@example.com"]
}

test_rejection_by_member_blocks if {
	v := array.concat(votes(["cab1@example.com", "cab2@example.com", "cab3@example.com"]), [{"approver": "cab4@example.com", "vote": "reject"}])
	d := decide({"change": "CHG0001", "votes": v})
	denied_with(d, "rejected by CAB member cab4@example.com")
}

test_recorded_rejection_blocks if {
	rejected := array.concat(fx.pip.itsm.changes.CHG0001.approvals, [{"approver": "cab4@example.com", "state": "rejected"}])
	d := decide({"change": inline({"approvals": rejected})})
	denied_with(d, "rejected by CAB member cab4@example.com")
}

test_invalid_vote_denied if {
	d := decide({"change": "CHG0001", "votes": [{"approver": "cab1@example.com", "vote": "maybe"}]})
	denied_with(d, "vote maybe by cab1@example.com is not one of approve, reject")
}

# ---------------------------------------------------------------- emergency changes

test_emergency_change_needs_post_hoc_review if {
	d := decide({"change": inline({"type": "emergency"})})
	denied_with(d, "emergency change CHG0001 needs the post-hoc review flag (post_hoc_review) before approval")
	d.checks.emergency_review == false
}

test_emergency_change_with_review_uses_emergency_quorum if {
	d := decide({"change": inline({"type": "emergency", "post_hoc_review": true, "risk_score": 90}), "approvers": ["cab1@example.com", "cab2@example.com"]})
	d.quorum == 2
	d.allow == true
	passed_with(d, "emergency change CHG0001: post-hoc review is flagged")
}

# ---------------------------------------------------------------- evidence pack

test_incomplete_evidence_denied if {
	items := {"implementation_plan": "complete", "risk_assessment": "complete", "rollback_plan": "missing", "test_plan": ""}
	d := decide({"change": with_evidence({"pack_id": "EVP-1", "items": items})})
	denied_with(d, "evidence pack of change CHG0001 is incomplete: missing rollback_plan, security_scan, test_plan")
	d.checks.evidence == false
}

test_flat_evidence_object_is_read_too if {
	items := {item: "https://wiki.example.com/evidence" | some item in data.pip_policy.config.cab.required_evidence}
	decide({"change": with_evidence(items)}).allow == true
}

test_missing_evidence_object_denied if {
	d := decide({"change": object.remove(inline({}), ["evidence"])})
	denied_with(d, "missing implementation_plan, risk_assessment, rollback_plan, security_scan, test_plan")
}

test_required_evidence_comes_from_data if {
	d := cab.decision with input as {"change": with_evidence({"sbom": true}), "approvers": ["cab1@example.com", "cab2@example.com", "cab3@example.com"]}
		with data.pip as fx.pip
		with data.pip_policy.config.cab.required_evidence as ["sbom"]
	d.allow == true
}

# ---------------------------------------------------------------- the change itself

test_closed_change_cannot_be_approved if {
	denied_with(decide({"change": inline({"state": "closed"})}), "change CHG0001 is closed; a closed change cannot be approved")
}

test_unknown_change_denied if {
	d := decide({"change": "CHG4242"})
	denied_with(d, "change CHG4242 is not in the ITSM data")
	d.change == "CHG4242"
}

test_missing_change_denied if {
	d := decide({})
	denied_with(d, "input.change is required: a change number or a change object")
	d.checks.input == false
}

test_change_without_requester_denied if {
	denied_with(decide({"change": object.remove(inline({}), ["requested_by"])}), "change CHG0001 has no requester (requested_by)")
}

test_missing_policy_configuration_fails_closed if {
	d := cab.decision with input as {"change": "CHG0001"} with data.pip as fx.pip with data.pip_policy.config as {}
	denied_with(d, "policy configuration data.pip_policy.config.cab is missing")
}

# ---------------------------------------------------------------- freshness

test_stale_change_data_denied if {
	d := cab.decision with input as {"change": "CHG0001"}
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("itsm/changes", {"stale": true})
	denied_with(d, "itsm/changes data is stale")
}

test_stale_identity_data_denied if {
	d := cab.decision with input as {"change": "CHG0001"}
		with data.pip as fx.pip
		with data.pip.meta as fx.with_meta("identity/users", {"stale": true})
	denied_with(d, "identity/users data is stale")
}

test_inline_change_does_not_read_change_data if {
	d := cab.decision with input as {"change": inline({})}
		with data.pip as fx.pip
		with data.pip.meta as fx.without_meta("itsm/changes")
	d.allow == true
	d.documents == ["identity/users"]
}
