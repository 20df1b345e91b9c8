"""The demo software catalogue: standard and line-of-business apps, versions, vulnerabilities."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from connectors.base.canonical import CanonicalApplication, Vulnerability
from connectors.demo import catalog, organisation
from connectors.demo.sampling import Weighted

_STATUSES = Weighted(catalog.APP_STATUSES)
_SEVERITIES = Weighted([("critical", 10), ("high", 25), ("medium", 40), ("low", 25)])
VULNERABLE_SHARE = 0.12


@dataclass(frozen=True, slots=True)
class AppInfo:
    """What other streams need to know about an application."""

    key: str
    name: str
    vendor: str
    standard: bool
    versions: tuple[str, str, str]
    """Two prior versions, then the current one."""


def build_catalogue(rng: random.Random, count: int) -> list[AppInfo]:
    """``count`` applications: the standard apps first, then internal tools."""
    return [_app_info(rng, index) for index in range(count)]


def _app_info(rng: random.Random, index: int) -> AppInfo:
    if index < len(catalog.STANDARD_APPS):
        name, vendor = catalog.STANDARD_APPS[index]
        return AppInfo(_slug(name), name, vendor, True, _versions(rng, rng.randint(3, 130)))
    department = rng.choice(organisation.DEPARTMENTS)
    name = f"{rng.choice(catalog.LOB_PREFIXES)} {rng.choice(catalog.LOB_SUFFIXES)}"
    key = f"lob-{index + 1:05d}-{_slug(department.name)}-{_slug(name)}"
    vendor = f"Internal ({department.name})"
    versions = _versions(rng, rng.randint(1, 12))
    return AppInfo(key, f"{department.name} {name}", vendor, False, versions)


def _versions(rng: random.Random, major: int) -> tuple[str, str, str]:
    minor = rng.randint(2, 20)
    return (
        f"{major}.{minor - 2}.{rng.randint(0, 9)}",
        f"{major}.{minor - 1}.{rng.randint(0, 9)}",
        f"{major}.{minor}.{rng.randint(0, 9)}",
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate_applications(
    rng: random.Random, apps: list[AppInfo]
) -> Iterator[CanonicalApplication]:
    """The application records of the catalogue, with status and known vulnerabilities."""
    for index, app in enumerate(apps):
        yield CanonicalApplication(
            source_id=f"app-{index + 1:05d}",
            app_key=app.key,
            name=app.name,
            vendor=app.vendor,
            category="standard" if app.standard else "line_of_business",
            versions=list(app.versions),
            current_version=app.versions[-1],
            deployment_status=_STATUSES.pick(rng),
            vulnerabilities=_vulnerabilities(rng, app) if rng.random() < VULNERABLE_SHARE else [],
        )


def _vulnerabilities(rng: random.Random, app: AppInfo) -> list[Vulnerability]:
    found = []
    for _ in range(rng.randint(1, 3)):
        severity = _SEVERITIES.pick(rng)
        current = rng.random() < 0.3
        version = app.versions[-1] if current else rng.choice(app.versions[:2])
        serious = severity in ("critical", "high")
        found.append(
            Vulnerability(
                id=f"DEMO-CVE-{rng.randint(2022, 2025)}-{rng.randint(1000, 49999)}",
                severity=severity,
                version=version,
                exception=serious and current and rng.random() < 0.25,
            )
        )
    return found
