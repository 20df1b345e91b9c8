# METADATA
# title: Freshness of the PIP documents
# description: |
#   Fail-closed checks on data.pip.meta, which the PIP computes when it serves
#   a document. A document is fresh only when its meta entry exists, says
#   stale == false, and its expires_at (refreshed_at + TTL) has not passed by
#   OPA's own clock: the last check catches an OPAL client that stopped fetching
#   while OPA still holds an old "stale: false".
package pip_policy.lib.freshness

import data.pip_policy.lib.timestamps

# problems(docs) is the set of reasons why the documents named in docs
# (e.g. {"identity/users", "assets/devices"}) cannot be trusted right now.
problems(docs) := {msg | some doc in docs; msg := problem(doc)}

# fresh(docs) holds when none of docs has a freshness problem.
fresh(docs) if count(problems(docs)) == 0

problem(doc) := sprintf("no freshness metadata for %s in data.pip.meta; refusing to decide on it", [doc]) if {
	not data.pip.meta[doc]
} else := sprintf("%s data is stale (last refreshed %s); refusing to decide on it", [doc, refreshed_at(doc)]) if {
	not marked_fresh(doc)
} else := sprintf("%s data expired at %s and was not refreshed; refusing to decide on it", [doc, data.pip.meta[doc].expires_at]) if {
	expired(doc)
}

# Helpers keep possibly undefined refs out of `not` (OPA would hoist them out).
marked_fresh(doc) if data.pip.meta[doc].stale == false

refreshed_at(doc) := data.pip.meta[doc].refreshed_at

refreshed_at(doc) := "never" if not data.pip.meta[doc].refreshed_at

expired(doc) if timestamps.ns(data.pip.meta[doc].expires_at) <= time.now_ns()

# An expires_at that is present but not RFC 3339 is treated as expired.
expired(doc) if {
	data.pip.meta[doc].expires_at
	not valid_expiry(doc)
}

valid_expiry(doc) if timestamps.ns(data.pip.meta[doc].expires_at)
