# METADATA
# title: Change Advisory Board (CAB) decisions
# description: |
#   Is a change request approved by the CAB? Query data.pip_policy.cab.decision with
#   input:
#
#     {"change": "CHG0030001",                 # a number in data.pip.itsm.changes,
#                                              # or a change object of the same shape
#      "votes": [{"approver": "kim@example.com", "vote": "approve"}],   # optional
#      "approvers": ["lee@example.com"]}       # optional: shorthand for approve votes
#
#   Without votes or approvers the approvals recorded on the change count
#   (state approved / rejected). Rules: quorum by risk band (bands and quorums
#   in data.pip_policy.config.cab), no approval of one's own change, only enabled
#   members of the CAB group count, a rejection by a member blocks, emergency
#   changes need the post-hoc review flag, and the evidence pack must be complete.
package pip_policy.cab

import data.pip_policy.lib.freshness
import data.pip_policy.lib.rbac

config := data.pip_policy.config.cab

# ---------------------------------------------------------------- the answer

checks := {
	"input": input_ok,
	"fresh_data": fresh_ok,
	"quorum": quorum_ok,
	"separation_of_duties": separation_ok,
	"no_rejection": no_rejection_ok,
	"emergency_review": emergency_ok,
	"evidence": evidence_ok,
	"open_change": open_ok,
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
	"change": change_number,
	"risk_band": band_name,
	"quorum": required_approvals,
	"approvals": sort(approving),
	"ignored_votes": sort(ignored_votes),
	"documents": sort(needed_docs),
}

default change_number := null

change_number := upper(trim_space(input.change)) if is_string(input.change) else := change.number

default band_name := null

band_name := band.name

default required_approvals := null

required_approvals := quorum

# ---------------------------------------------------------------- the change

change := data.pip.itsm.changes[upper(trim_space(input.change))] if is_string(input.change)

change := input.change if is_object(input.change)

default input_ok := false

input_ok if {
	configured
	change
	requester
}

# Negations below test helper rules, never a call on a possibly undefined ref:
# OPA hoists such a ref out of `not` (`not f(x.y)` is undefined when x.y is),
# which would make a missing field pass a check.
configured if is_object(config)

change_by_number if is_string(input.change)

change_inline if is_object(input.change)

deny contains "policy configuration data.pip_policy.config.cab is missing; refusing to decide" if {
	not configured
}

deny contains "input.change is required: a change number or a change object" if {
	not change_by_number
	not change_inline
}

deny contains sprintf("change %s is not in the ITSM data", [input.change]) if {
	change_by_number
	not change
}

requester := rbac.key(change.requested_by)

deny contains sprintf("change %v has no requester (requested_by); separation of duties cannot be checked", [change.number]) if {
	change
	not requester
}

default open_ok := false

open_ok if {
	change.state
	not closed
}

closed if lower(change.state) in config.closed_states

deny contains sprintf("change %v is %v; a closed change cannot be approved", [change.number, change.state]) if {
	closed
}

deny contains sprintf("change %v has no state", [change.number]) if {
	change
	not change.state
}

# ---------------------------------------------------------------- freshness

needed_docs contains "identity/users"

needed_docs contains "itsm/changes" if is_string(input.change)

default fresh_ok := false

fresh_ok if freshness.fresh(needed_docs)

deny contains msg if some msg in freshness.problems(needed_docs)

passed contains sprintf("policy data is fresh: %s", [concat(", ", sort(needed_docs))]) if fresh_ok

# ---------------------------------------------------------------- votes

vote_values := {"approve": "approve", "approved": "approve", "reject": "reject", "rejected": "reject"}

input_votes := array.concat(
	[{"approver": rbac.key(v.approver), "vote": vote_values[lower(v.vote)]} | some v in input.votes],
	[{"approver": rbac.key(a), "vote": "approve"} | some a in input.approvers],
)

recorded_votes := [{"approver": rbac.key(approval.approver), "vote": vote_values[lower(approval.state)]} |
	some approval in change.approvals
]

# Votes given in the input replace the approvals recorded on the change.
votes := input_votes if count(input_votes) > 0 else := recorded_votes

deny contains sprintf("vote %v by %v is not one of approve, reject", [v.vote, v.approver]) if {
	some v in input.votes
	not valid_vote(v)
}

valid_vote(v) if vote_values[lower(v.vote)]

# eligible(a) holds for enabled members of the CAB group other than the requester.
eligible(a) if {
	rbac.enabled(a)
	rbac.member_of(a, config.group)
	a != requester
}

approving := {v.approver | some v in votes; v.vote == "approve"; eligible(v.approver)}

rejecting := {v.approver | some v in votes; v.vote == "reject"; eligible(v.approver)}

ignored_votes := {sprintf("%s: %s", [v.approver, ineligibility(v.approver)]) |
	some v in votes
	not eligible(v.approver)
}

ineligibility(a) := "is the requester of the change" if {
	a == requester
} else := "is not in the identity data" if {
	not rbac.user(a)
} else := "is disabled" if {
	not rbac.enabled(a)
} else := sprintf("is not a member of the CAB group %s", [config.group])

# ---------------------------------------------------------------- risk band and quorum

# The first band whose [min_score, max_score] holds the change's risk_score;
# without a score, the band named by the change's risk.
band := scored_bands[0] if {
	is_number(change.risk_score)
} else := named_bands[0]

scored_bands := [b | some b in config.risk_bands; b.min_score <= change.risk_score; change.risk_score <= b.max_score]

named_bands := [b | some b in config.risk_bands; b.name == change.risk]

emergency if change.type == "emergency"

# Emergency changes go to the emergency CAB, which may need fewer votes.
quorum := min({band.quorum, config.emergency_quorum}) if emergency else := band.quorum

default quorum_ok := false

quorum_ok if count(approving) >= quorum

deny contains sprintf("change %v has no risk score or risk band; the CAB quorum cannot be chosen", [change.number]) if {
	change
	not band
}

deny contains sprintf("quorum not met: %d of %d approvals from enabled CAB members for %s risk%s", [
	count(approving), quorum, band.name, ignored_text,
]) if {
	count(approving) < quorum
}

ignored_text := sprintf(" (not counted: %s)", [concat("; ", sort(ignored_votes))]) if {
	count(ignored_votes) > 0
} else := ""

passed contains sprintf("quorum met: %d of %d approvals from enabled CAB members for %s risk (%s)", [
	count(approving), quorum, band.name, concat(", ", sort(approving)),
]) if {
	quorum_ok
}

# ---------------------------------------------------------------- separation of duties

default separation_ok := false

separation_ok if {
	requester
	not self_approved
}

self_approved if {
	some v in votes
	v.vote == "approve"
	v.approver == requester
}

deny contains sprintf("separation of duties: %s requested change %v and cannot approve it", [requester, change.number]) if {
	self_approved
}

passed contains sprintf("separation of duties: the requester %s did not approve", [requester]) if separation_ok

# ---------------------------------------------------------------- rejections

default no_rejection_ok := false

no_rejection_ok if count(rejecting) == 0

no_rejection_ok if config.rejection_blocks == false

deny contains sprintf("rejected by CAB member %s", [a]) if {
	not no_rejection_ok
	some a in rejecting
}

# ---------------------------------------------------------------- emergency changes

default emergency_ok := false

emergency_ok if {
	change
	not emergency
}

emergency_ok if {
	emergency
	post_hoc_review_flagged
}

post_hoc_review_flagged if change.post_hoc_review == true

deny contains sprintf("emergency change %v needs the post-hoc review flag (post_hoc_review) before approval", [change.number]) if {
	emergency
	not post_hoc_review_flagged
}

passed contains sprintf("emergency change %v: post-hoc review is flagged", [change.number]) if {
	emergency
	emergency_ok
}

# ---------------------------------------------------------------- evidence pack

missing_evidence := sort([item |
	some item in config.required_evidence
	not has_evidence(item)
])

# An evidence item is read from the pack's `items` (ServiceNow-style packs:
# {"items": {"rollback_plan": "complete"}}) or from the evidence object itself.
has_evidence(item) if present(change.evidence.items[item])

has_evidence(item) if present(change.evidence[item])

# present(x) holds for a value that is not false, null, empty or "missing".
present(x) if {
	x != false
	x != null
	x != ""
	x != "missing"
	not empty_collection(x)
}

empty_collection(x) if {
	is_array(x)
	count(x) == 0
}

empty_collection(x) if {
	is_object(x)
	count(x) == 0
}

default evidence_ok := false

evidence_ok if {
	change
	count(missing_evidence) == 0
}

deny contains sprintf("evidence pack of change %v is incomplete: missing %s", [change.number, concat(", ", missing_evidence)]) if {
	change
	count(missing_evidence) > 0
}

passed contains sprintf("evidence pack complete: %s", [concat(", ", sort(config.required_evidence))]) if evidence_ok
