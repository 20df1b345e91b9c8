"""The demo workforce: users with roles, departments, managers and CAB seats, and their groups."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base.canonical import CanonicalGroup, CanonicalUser
from connectors.demo import organisation
from connectors.demo.sampling import Weighted, allocate, seconds_before, shuffled_labels

DAY = 86_400
CAB_GROUP = "cab"
CAB_SUBGROUPS = ("cab-platform", "cab-security")


@dataclass(slots=True)
class Person:
    """One demo user, before it becomes a canonical record."""

    index: int
    email: str
    given_name: str
    family_name: str
    role: str
    department: int
    site: int
    title: str = ""
    manager: str | None = None
    enabled: bool = True
    cab_group: str | None = None
    manages: bool = False
    last_sign_in_s: int | None = None


@dataclass
class Roster:
    """Everyone, with the lookups other streams draw from."""

    people: list[Person]
    cab: list[Person] = field(default_factory=list)
    requesters: list[Person] = field(default_factory=list)
    admins: list[Person] = field(default_factory=list)
    by_department: dict[int, list[Person]] = field(default_factory=dict)


def build_roster(rng: random.Random, count: int, domain: str) -> Roster:
    """``count`` people with exact role shares, managers, a few disabled accounts and a CAB."""
    roles = shuffled_labels(rng, organisation.ROLES, allocate(count, organisation.ROLE_SHARES))
    sites = Weighted([(i, site.weight) for i, site in enumerate(organisation.SITES)])
    taken: set[str] = set()
    people = [_person(rng, i, role, sites, taken, domain) for i, role in enumerate(roles)]
    roster = Roster(people)
    for person in people:
        roster.by_department.setdefault(person.department, []).append(person)
    _assign_managers(rng, roster)
    _seat_cab(roster)
    _disable_some(rng, roster)
    _sign_ins(rng, roster)
    roster.requesters = [p for p in people if p.enabled and p.role in ("admin", "operator")]
    roster.admins = [p for p in roster.requesters if p.role == "admin"] or roster.requesters
    return roster


def _person(
    rng: random.Random, index: int, role: str, sites: Weighted[int], taken: set[str], domain: str
) -> Person:
    given = rng.choice(organisation.FIRST_NAMES)
    family = rng.choice(organisation.LAST_NAMES)
    local = f"{given}.{family}".lower()
    email, suffix = f"{local}@{domain}", 1
    while email in taken:
        suffix += 1
        email = f"{local}{suffix}@{domain}"
    taken.add(email)
    department = Weighted(list(enumerate(organisation.ROLE_DEPARTMENT_WEIGHTS[role]))).pick(rng)
    return Person(index, email, given, family, role, department, sites.pick(rng))


def _assign_managers(rng: random.Random, roster: Roster) -> None:
    for department, staff in roster.by_department.items():
        info = organisation.DEPARTMENTS[department]
        managers = staff[: max(1, len(staff) // 8)]
        head, *leads = managers
        for manager in managers:
            manager.manages = True
        head.title = f"Head of {info.name}"
        for lead in leads:
            lead.title, lead.manager = info.manager_title, head.email
        for person in staff[len(managers) :]:
            person.title = rng.choice(info.titles)
            person.manager = rng.choice(managers).email


def _seat_cab(roster: Roster) -> None:
    eligible = [p for p in roster.people if p.role in ("admin", "operator")]
    size = max(4, min(20, round(len(roster.people) * 0.015)))
    security = [p for p in eligible if organisation.DEPARTMENTS[p.department].name == "Security"]
    platform = [p for p in eligible if organisation.DEPARTMENTS[p.department].name == "IT Ops"]
    for person in security[: size // 3]:
        person.cab_group = "cab-security"
    for person in platform[: size // 2]:
        person.cab_group = "cab-platform"
    chairs = [p for p in eligible if p.cab_group is None]
    seated = sum(1 for p in eligible if p.cab_group is not None)
    for person in chairs[: max(0, size - seated)]:
        person.cab_group = CAB_GROUP
    roster.cab = [p for p in eligible if p.cab_group is not None]


def _disable_some(rng: random.Random, roster: Roster) -> None:
    for person in roster.people:
        leaver = person.cab_group is None and not person.manages
        if leaver and person.role in ("viewer", "demo") and rng.random() < 0.04:
            person.enabled = False


def _sign_ins(rng: random.Random, roster: Roster) -> None:
    for person in roster.people:
        if not person.enabled:
            person.last_sign_in_s = rng.randint(60 * DAY, 300 * DAY)
        elif rng.random() < 0.97:
            person.last_sign_in_s = min(int(rng.expovariate(1 / (1.5 * DAY))), 30 * DAY)


def user_record(person: Person, now: datetime) -> CanonicalUser:
    """The canonical user of one person; roles come through its groups."""
    department = organisation.DEPARTMENTS[person.department]
    groups = [organisation.ROLE_GROUPS[person.role], department.group_key]
    if person.cab_group:
        groups.append(person.cab_group)
    return CanonicalUser(
        source_id=f"usr-{person.index + 1:06d}",
        email=person.email,
        upn=person.email,
        username=person.email.split("@", 1)[0],
        display_name=f"{person.given_name} {person.family_name}",
        given_name=person.given_name,
        family_name=person.family_name,
        department=organisation.DEPARTMENTS[person.department].name,
        job_title=person.title,
        manager=person.manager,
        enabled=person.enabled,
        groups=sorted(groups),
        location=organisation.SITES[person.site].name,
        last_sign_in=_ago(now, person.last_sign_in_s),
        employee_id=f"E{100_000 + person.index}",
    )


def group_records(roster: Roster) -> list[CanonicalGroup]:
    """Role groups, department groups and the CAB with its nested sub-groups."""
    groups = [
        _group(key, f"Members holding the {role} role", _emails(roster, role=role), roles=[role])
        for role, key in organisation.ROLE_GROUPS.items()
    ]
    for index, info in enumerate(organisation.DEPARTMENTS):
        staff = [p.email for p in roster.by_department.get(index, [])]
        groups.append(_group(info.group_key, f"Everyone in {info.name}", staff))
    groups.append(
        _group(CAB_GROUP, "Change Advisory Board", _cab(roster, CAB_GROUP), list(CAB_SUBGROUPS))
    )
    groups.extend(_group(key, f"CAB seats: {key[4:]}", _cab(roster, key)) for key in CAB_SUBGROUPS)
    return groups


def _group(
    key: str,
    description: str,
    members: list[str],
    nested: list[str] | None = None,
    roles: list[str] | None = None,
) -> CanonicalGroup:
    return CanonicalGroup(
        source_id=f"grp-{key}",
        group_key=key,
        name=key,
        description=description,
        members=sorted(members),
        member_groups=nested or [],
        roles=roles or [],
    )


def _emails(roster: Roster, *, role: str) -> list[str]:
    return [p.email for p in roster.people if p.role == role]


def _cab(roster: Roster, key: str) -> list[str]:
    return [p.email for p in roster.cab if p.cab_group == key]


def _ago(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else seconds_before(now, seconds)
