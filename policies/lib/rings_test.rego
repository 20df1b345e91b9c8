package pip_policy.lib.rings_test

import data.pip_policy.lib.rings

test_ring_order_from_data if {
	rings.names == ["lab", "canary", "pilot", "department", "global"]
}

test_previous_ring if {
	rings.previous("Pilot").name == "canary"
	rings.previous("global").name == "department"
	not rings.previous("lab")
	not rings.previous("moon")
}

test_sizes if {
	rings.max_targets("lab") == 50
	rings.max_targets("department") == 25000
	not rings.max_targets("global")
}

test_promotion_thresholds_rise_with_ring_size if {
	every i in numbers.range(2, count(rings.rings) - 1) {
		rings.rings[i].min_previous_success_rate >= rings.rings[i - 1].min_previous_success_rate
		rings.rings[i].min_hours_in_previous >= rings.rings[i - 1].min_hours_in_previous
	}
}

test_hours_between if {
	rings.hours_between(0, 7200000000000) == 2
}
