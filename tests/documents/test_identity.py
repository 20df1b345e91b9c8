"""identity/users and identity/groups: merge by email/UPN, transitive groups, roles."""

from __future__ import annotations

from tests.conftest import Database
from tests.documents.helpers import add_connection, add_records, body, make_record, make_service


async def test_users_merge_by_email_case_insensitively(db: Database) -> None:
    okta = await add_connection(db, "Okta", "okta")
    entra = await add_connection(db, "Entra", "entra")
    await add_records(
        db,
        make_record(okta, "user", "o1", email="Alice@Example.COM ", display_name="Alice O"),
        make_record(
            entra,
            "user",
            "e1",
            email="alice@example.com",
            upn="alice@corp.example.com",
            job_title="CFO",
        ),
        make_record(okta, "user", "o2", upn="ALICE@corp.example.com", department="Finance"),
    )
    service = make_service(db, source_precedence="okta,entra")
    await service.rebuild()

    users = await body(service, "identity/users")

    assert list(users) == ["alice@example.com"]
    alice = users["alice@example.com"]
    assert alice["sources"] == ["Entra", "Okta"]
    assert alice["display_name"] == "Alice O"
    assert alice["job_title"] == "CFO"
    assert alice["department"] == "Finance"
    assert alice["provenance"]["job_title"] == "Entra"


async def _nested_groups(db: Database) -> None:
    okta = await add_connection(db, "Okta", "okta")
    await add_records(
        db,
        make_record(okta, "user", "u1", email="bob@example.com", roles=["viewer"]),
        make_record(okta, "user", "u2", email="carol@example.com", groups=["level-1"]),
        make_record(
            okta, "group", "g1", group_key="level-1", name="L1", members=["Bob@Example.com"]
        ),
        make_record(okta, "group", "g2", group_key="level-2", name="L2", member_groups=["level-1"]),
        make_record(
            okta,
            "group",
            "g3",
            group_key="level-3",
            name="L3",
            member_groups=["level-2"],
            roles=["admin"],
        ),
        make_record(okta, "group", "g4", group_key="loop-a", name="A", member_groups=["loop-b"]),
        make_record(
            okta,
            "group",
            "g5",
            group_key="loop-b",
            name="B",
            member_groups=["loop-a"],
            members=["bob@example.com"],
            roles=["operator"],
        ),
    )


async def test_groups_are_transitive_three_levels_deep_and_cycles_are_safe(db: Database) -> None:
    await _nested_groups(db)
    service = make_service(db)
    await service.rebuild()

    users = await body(service, "identity/users")

    bob = users["bob@example.com"]
    assert bob["groups"] == ["level-1", "level-2", "level-3", "loop-a", "loop-b"]
    assert bob["roles"] == ["admin", "operator", "viewer"]
    carol = users["carol@example.com"]
    assert carol["groups"] == ["level-1", "level-2", "level-3"]
    assert carol["roles"] == ["admin"]


async def test_group_members_are_direct_and_read_both_ways(db: Database) -> None:
    await _nested_groups(db)
    service = make_service(db)
    await service.rebuild()

    groups = await body(service, "identity/groups")

    assert groups["level-1"]["members"] == ["bob@example.com", "carol@example.com"]
    assert groups["level-2"]["members"] == []
    assert groups["level-2"]["member_groups"] == ["level-1"]
    assert groups["level-3"]["roles"] == ["admin"]
    assert groups["level-1"]["name"] == "L1"
    assert "group_key" not in groups["level-1"]
