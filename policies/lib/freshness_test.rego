package pip_policy.lib.freshness_test

import data.pip_policy.fixtures_test as fx
import data.pip_policy.lib.freshness

problems(docs, meta) := p if {
	p := freshness.problems(docs) with data.pip.meta as meta
}

test_fresh_documents_have_no_problems if {
	problems({"identity/users", "assets/devices"}, fx.pip.meta) == set()
	freshness.fresh({"identity/users"}) with data.pip.meta as fx.pip.meta
}

test_stale_flag_is_a_problem if {
	problems({"assets/devices"}, fx.with_meta("assets/devices", {"stale": true})) == {
		"assets/devices data is stale (last refreshed 2026-03-02T09:55:00Z); refusing to decide on it",
	}
}

test_missing_meta_entry_fails_closed if {
	problems({"itsm/changes"}, fx.without_meta("itsm/changes")) == {
		"no freshness metadata for itsm/changes in data.pip.meta; refusing to decide on it",
	}
}

test_missing_meta_document_fails_closed if {
	p := freshness.problems({"identity/users"}) with data.pip as {}
	count(p) == 1
}

test_stale_flag_must_be_false_not_just_absent if {
	meta := object.union(fx.without_meta("assets/devices"), {"assets/devices": object.remove(fx.pip.meta["assets/devices"], ["stale", "refreshed_at"])})
	problems({"assets/devices"}, meta) == {"assets/devices data is stale (last refreshed never); refusing to decide on it"}
}

test_non_boolean_stale_is_stale if {
	count(problems({"assets/devices"}, fx.with_meta("assets/devices", {"stale": "no"}))) == 1
}

test_expired_by_opa_clock if {
	p := freshness.problems({"assets/devices"}) with data.pip.meta as fx.pip.meta
		with time.now_ns as time.parse_rfc3339_ns("2099-01-01T00:00:01Z")
	p == {"assets/devices data expired at 2099-01-01T00:00:00Z and was not refreshed; refusing to decide on it"}
}

test_not_expired_just_before_expiry if {
	p := freshness.problems({"assets/devices"}) with data.pip.meta as fx.pip.meta
		with time.now_ns as time.parse_rfc3339_ns("2098-12-31T23:59:59Z")
	p == set()
}

test_unparseable_expiry_is_expired if {
	count(problems({"assets/devices"}, fx.with_meta("assets/devices", {"expires_at": "soon"}))) == 1
}

test_only_named_documents_are_checked if {
	problems({"identity/users"}, fx.with_meta("assets/devices", {"stale": true})) == set()
}
