package pip_policy.lib.timestamps_test

import data.pip_policy.lib.timestamps

test_parses_rfc3339 if {
	timestamps.ns("1970-01-01T00:00:01Z") == 1000000000
	timestamps.ns("1970-01-01T01:00:00+01:00") == 0
	timestamps.ns("2026-03-02T10:00:00.5Z") == time.parse_rfc3339_ns("2026-03-02T10:00:00.5Z")
}

test_undefined_instead_of_error if {
	not timestamps.ns("next tuesday")
	not timestamps.ns("2026-03-02")
	not timestamps.ns(42)
	not timestamps.ns("2026-03-02 10:00:00Z")
}
