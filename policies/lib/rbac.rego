# METADATA
# title: Role-based access from identity data
# description: |
#   Users are looked up in data.pip.identity.users by normalized key (trimmed,
#   lower-case email or UPN). The document builder computes each user's
#   `roles` as the user's own roles plus the roles of every group the user
#   belongs to (transitively), and `groups` as the transitive group keys, so
#   "holds operator through a group" is a lookup here, not a graph walk.
package pip_policy.lib.rbac

# key(k) normalizes a user key the way the document builder does.
key(k) := lower(trim_space(k))

# user(k) is the identity entity of k (undefined when unknown).
user(k) := data.pip.identity.users[key(k)]

# enabled(k) holds when k is known and explicitly enabled.
enabled(k) if user(k).enabled == true

# roles_held(k, wanted) is the set of roles in wanted that k holds.
roles_held(k, wanted) := {role | some role in user(k).roles; role in wanted}

# has_any_role(k, wanted) holds when k holds at least one role of wanted.
has_any_role(k, wanted) if count(roles_held(k, wanted)) > 0

# member_of(k, group) holds when k is in group, directly or through nesting.
member_of(k, group) if lower(group) in user(k).groups
