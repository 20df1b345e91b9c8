package pip_policy.lib.rbac_test

import data.pip_policy.fixtures_test as fx
import data.pip_policy.lib.rbac

test_keys_are_normalized_like_the_builder if {
	rbac.key("  Ops@Example.COM ") == "ops@example.com"
	u := rbac.user("OPS@example.com") with data.pip as fx.pip
	u.key == "ops@example.com"
}

test_enabled_needs_an_explicit_true if {
	rbac.enabled("ops@example.com") with data.pip as fx.pip
	not rbac.enabled("gone@example.com") with data.pip as fx.pip
	not rbac.enabled("nobody@example.com") with data.pip as fx.pip
	users := {"x@example.com": {"key": "x@example.com", "roles": ["admin"]}}
	not rbac.enabled("x@example.com") with data.pip.identity.users as users
}

test_roles_held_from_groups if {
	rbac.roles_held("ops@example.com", ["admin", "operator"]) == {"operator"} with data.pip as fx.pip
	rbac.has_any_role("admin@example.com", ["admin", "operator"]) with data.pip as fx.pip
	not rbac.has_any_role("viewer@example.com", ["admin", "operator"]) with data.pip as fx.pip
}

test_member_of_uses_transitive_groups if {
	rbac.member_of("cab3@example.com", "CAB") with data.pip as fx.pip
	not rbac.member_of("ops@example.com", "cab") with data.pip as fx.pip
}
