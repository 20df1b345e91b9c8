# METADATA
# title: RFC 3339 timestamps
# description: |
#   Parsing that is undefined (never an evaluation error) for a value that is
#   not an RFC 3339 timestamp, so a bad timestamp in data or input denies with
#   a reason instead of aborting the whole decision.
package pip_policy.lib.timestamps

rfc3339 := `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`

# ns(value) is value as nanoseconds since the epoch.
ns(value) := time.parse_rfc3339_ns(value) if {
	is_string(value)
	regex.match(rfc3339, value)
}
