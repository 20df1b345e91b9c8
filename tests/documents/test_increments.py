"""Entity-level identity rebuilds give exactly the body a full build gives."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from opal.patches import apply_patch, changes_patch
from pip_service.db.base import utcnow
from pip_service.documents.builder import DocumentBuilder
from pip_service.documents.catalog import get_spec
from pip_service.documents.deltas import Change, DeltaLog
from pip_service.documents.models import DocumentSnapshot
from pip_service.documents.rebuild import INCREMENTAL
from pip_service.documents.sensitivity import SensitivityMap
from pip_service.documents.serialize import encode
from pip_service.documents.service import DocumentService
from pip_service.documents.sources import load_sources
from pip_service.records.models import Record
from tests.conftest import Database
from tests.documents.helpers import T0, add_connection, add_records, lookup, make_record
from tests.documents.helpers import make_service as service_of
from tests.documents.test_identity import _nested_groups

IDENTITY = ("identity/users", "identity/groups")


async def full_json(db: Database, service: DocumentService, name: str) -> bytes:
    """The JSON a full build from the current records gives."""
    settings = service._settings
    async with db.sessions() as session:
        sources = await load_sources(session, lookup=lookup, precedence=settings.source_precedence)
        builder = DocumentBuilder(
            session, sources=sources, sensitivities=SensitivityMap(lookup), settings=settings
        )
        built = await builder.build(get_spec(name))
    return encode(built.body).json


async def assert_full(db: Database, service: DocumentService) -> None:
    """Both served identity documents equal a full build, and came from an entity-level one."""
    for name in IDENTITY:
        served = await service.get(name)
        assert encode(served.data()).json == await full_json(db, service, name), name
    async with db.sessions() as session:
        row = await session.get(DocumentSnapshot, "identity/users")
        assert row is not None and row.inputs_hash == INCREMENTAL


async def replace_record(db: Database, external_id: str, record: Record) -> None:
    """Give a stored record new content (as a webhook upsert does)."""
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Record)
            .where(Record.external_id == external_id)
            .values(
                data=record.data,
                content_hash=record.content_hash,
                entity_key=record.entity_key,
                updated_at=T0 + timedelta(hours=1),
            )
        )


async def test_user_changes_move_groups_roles_and_members_like_a_full_build(db: Database) -> None:
    await _nested_groups(db)
    okta = await add_connection(db, "Okta 2", "okta")
    service = service_of(db)
    await service.rebuild()
    revision = (await service.get("identity/groups")).revision

    # carol leaves level-1 for loop-a; dave arrives in level-2 with a role
    carol = make_record(okta, "user", "u2", email="carol@example.com", groups=["loop-a"])
    await replace_record(db, "u2", carol)
    dave = make_record(okta, "user", "u3", email="dave@example.com", groups=["level-2"])
    await add_records(db, dave)
    keys = {"user": {"carol@example.com", "dave@example.com"}}
    await service.rebuild(["user"], changed_keys=keys)
    await assert_full(db, service)
    assert (await service.get("identity/groups")).revision == revision + 1

    # bob is gone (he stays a raw member of level-1 and loop-b, as in a full build)
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Record).where(Record.external_id == "u1").values(deleted_at=utcnow())
        )
    await service.rebuild(["user"], changed_keys={"user": {"bob@example.com"}})
    await assert_full(db, service)

    # a title change moves no group: the groups document keeps its revision
    revision = (await service.get("identity/groups")).revision
    dave = make_record(
        okta, "user", "u3", email="dave@example.com", groups=["level-2"], job_title="X"
    )
    await replace_record(db, "u3", dave)
    await service.rebuild(["user"], changed_keys={"user": {"dave@example.com"}})
    await assert_full(db, service)
    assert (await service.get("identity/groups")).revision == revision


async def test_a_user_known_only_by_upn_gets_a_full_build(db: Database) -> None:
    await _nested_groups(db)
    service = service_of(db)
    await service.rebuild()
    okta = await add_connection(db, "Okta 2", "okta")
    weak = make_record(okta, "user", "w1", upn="bobby@corp.example.com", department="Ops")
    await add_records(db, weak)
    await service.rebuild(["user"], changed_keys={"user": {weak.entity_key}})
    for name in IDENTITY:
        served = await service.get(name)
        assert encode(served.data()).json == await full_json(db, service, name), name
    async with db.sessions() as session:
        row = await session.get(DocumentSnapshot, "identity/users")
        assert row is not None and row.inputs_hash != INCREMENTAL


def test_delta_steps_compose_into_one_patch() -> None:
    log = DeltaLog()
    log.record("d", "A", "B", {"x": Change(False, {"v": 1}), "y": Change(True, {"v": 2})})
    log.record("d", "B", "C", {"x": Change(True, None), "z": Change(True, None)})
    composed = log.between("d", "A", "C")
    assert composed is not None
    old = {"y": {"v": 0}, "z": {"v": 3}}
    assert apply_patch(old, changes_patch(composed)) == {"y": {"v": 2}}
    assert changes_patch(composed) == [
        {"op": "add", "path": "/y", "value": {"v": 2}},
        {"op": "remove", "path": "/z"},
    ]
    assert log.between("d", "B", "C") is not None
    assert log.between("d", "C", "A") is None
    assert log.between("other", "A", "B") is None
