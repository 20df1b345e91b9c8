# METADATA
# title: Deployment rings
# description: |
#   The ordered rings (Lab, Canary, Pilot, Department, Global) with their
#   sizes and promotion thresholds live in data.pip_policy.config.rings, not in code.
#   Each ring names the thresholds its predecessor must meet before a version
#   may enter it.
package pip_policy.lib.rings

rings := data.pip_policy.config.rings

# names is the ring order, first to last.
names := [r.name | some r in rings]

# index(name) is the position of the ring called name (case-insensitive).
index(name) := i if {
	some i, r in rings
	r.name == lower(name)
}

# ring(name) is the ring's configuration object.
ring(name) := rings[index(name)]

# previous(name) is the ring a version must pass through before name.
previous(name) := rings[index(name) - 1] if index(name) > 0

# max_targets(name) is the ring's size limit; undefined for an unbounded ring.
max_targets(name) := ring(name).max_targets

# hours_between(from_ns, to_ns) converts a nanosecond interval to hours.
hours_between(from_ns, to_ns) := (to_ns - from_ns) / 3600000000000
