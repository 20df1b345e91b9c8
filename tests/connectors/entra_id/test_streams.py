"""Entra ID: what a full run reads and how Graph objects map to users, groups and devices."""

from __future__ import annotations

from tests.connectors.entra_id.harness import Harness
from tests.connectors.entra_id.reading import by_id, read
from tests.fakes.graph_data import object_id


async def test_users_are_mapped_with_manager_and_only_mapped_fields_selected(
    graph: Harness,
) -> None:
    graph.reset(30)
    users = by_id((await read(graph, "users")).records)
    assert len(users) == 30
    alice = users[object_id("users", 12)]
    assert alice.email == "user000012@contoso.com" and alice.upn == alice.email.replace(
        "contoso.com", "contoso.onmicrosoft.com"
    )
    assert alice.manager == "user000001@contoso.com"
    assert alice.department == "Support" and alice.display_name == "Given12 Sur12"
    no_mail = users[object_id("users", 7)]
    assert no_mail.email is None and no_mail.key == "user000007@contoso.onmicrosoft.com"
    assert users[object_id("users", 3)].enabled is False
    assert alice.employee_id is None and alice.phone is None and alice.last_sign_in is None
    listed = [params for path, params in graph.fake.requests if path == "/v1.0/users"]
    selected = listed[0]["$select"].split(",")
    assert "employeeId" not in selected and "signInActivity" not in selected
    assert listed[0]["$expand"] == "manager($select=mail,userPrincipalName)"
    assert graph.fake.unsupported == []


async def test_restricted_fields_and_sign_in_are_read_only_when_enabled(graph: Harness) -> None:
    graph.reset(12)
    users = by_id(
        (await read(graph, "users", read_restricted=True, read_sign_in_activity=True)).records
    )
    user = users[object_id("users", 11)]
    assert user.employee_id == "E0000011" and user.phone == "+1 555 0000011"
    assert user.last_sign_in is not None and user.last_sign_in.year == 2026


async def test_sign_in_activity_without_audit_permission_is_refused(graph: Harness) -> None:
    from connectors.base.errors import SourceAuthError

    graph.reset(3)
    graph.fake.permissions.discard("AuditLog.Read.All")
    try:
        await read(graph, "users", read_sign_in_activity=True)
    except SourceAuthError as err:
        assert "Insufficient privileges" in err.message and err.status_code == 403
    else:
        raise AssertionError("expected a SourceAuthError")


async def test_groups_carry_direct_members_and_nested_groups(graph: Harness) -> None:
    graph.fake.reset(users=40, groups=12, devices=0, group_size=3)
    groups = by_id((await read(graph, "groups")).records)
    assert len(groups) == 12
    first = groups[object_id("groups", 0)]
    assert first.group_key == "group 00000" and first.name == "Group 00000"
    assert first.members == ["user000000@contoso.com", "user000001@contoso.com",
                             "user000002@contoso.com"]  # fmt: skip
    assert first.member_groups == ["group 00001"]
    assert groups[object_id("groups", 1)].member_groups == []
    member_calls = [p for p, _ in graph.fake.requests if p.endswith("/members")]
    assert len(member_calls) == 12


async def test_devices_map_to_hostname_os_compliance_and_management(graph: Harness) -> None:
    graph.fake.reset(users=0, groups=0, devices=10)
    devices = by_id((await read(graph, "devices")).records)
    pc0, pc2 = devices[object_id("devices", 0)], devices[object_id("devices", 2)]
    assert pc0.key == "host:pc-00000" and pc0.os == "Windows"
    assert pc0.compliance_state == "noncompliant" and pc0.management_state == "unmanaged"
    assert pc2.compliance_state == "compliant" and pc2.device_type == "mobile"
    assert pc2.extra["entra_device_id"].endswith("000000000002") and pc2.last_seen is not None
