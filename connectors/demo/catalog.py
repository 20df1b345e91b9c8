"""Fixed vocabularies of the demo enterprise: device kinds, rings, statuses, apps, events.

The shares here follow the demo data spec (seed plan 000, section 2.2). Where two
of its distributions cannot both hold (8 % mobile devices, but only 5 % iOS and
Android), the type shares are kept and the remaining mobiles are rugged Windows 11
tablets, so the OS shares hold too.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class DeviceKind(NamedTuple):
    """A (type, OS) pair with its share of the fleet (percent) and typical hardware."""

    device_type: str
    os: str
    os_versions: tuple[str, ...]
    share: int
    models: tuple[tuple[str, str], ...]
    type_code: str


_WIN_LAPTOPS = (
    ("Dell", "Latitude 7440"),
    ("Lenovo", "ThinkPad T14 Gen 4"),
    ("HP", "EliteBook 840 G10"),
)
_WIN_DESKTOPS = (
    ("Dell", "OptiPlex 7010"),
    ("HP", "EliteDesk 800 G9"),
    ("Lenovo", "ThinkCentre M90q Gen 4"),
)
_VIRTUAL = (
    ("VMware, Inc.", "VMware Virtual Platform"),
    ("Microsoft Corporation", "Virtual Machine"),
)
_WIN11 = ("10.0.22631.3447", "10.0.22631.3527", "10.0.22621.3447")
_WIN10 = ("10.0.19045.4291", "10.0.19045.4170", "10.0.19044.4291")
_UBUNTU = ("22.04.4 LTS", "22.04.3 LTS")

DEVICE_KINDS: Final = (
    DeviceKind("laptop", "Windows 11", _WIN11, 25, _WIN_LAPTOPS, "LT"),
    DeviceKind("laptop", "Windows 10", _WIN10, 17, _WIN_LAPTOPS, "LT"),
    DeviceKind(
        "laptop",
        "macOS Sonoma",
        ("14.4.1", "14.3.1"),
        10,
        (("Apple", "MacBook Pro 14-inch M3"), ("Apple", "MacBook Air 13-inch M2")),
        "MB",
    ),
    DeviceKind(
        "laptop",
        "macOS Ventura",
        ("13.6.6", "13.6.4"),
        8,
        (("Apple", "MacBook Pro 14-inch M2"), ("Apple", "MacBook Air 13-inch M1")),
        "MB",
    ),
    DeviceKind("desktop", "Windows 11", _WIN11, 8, _WIN_DESKTOPS, "DT"),
    DeviceKind("desktop", "Windows 10", _WIN10, 10, _WIN_DESKTOPS, "DT"),
    DeviceKind(
        "desktop",
        "macOS Sonoma",
        ("14.4.1",),
        2,
        (("Apple", "iMac 24-inch M3"), ("Apple", "Mac mini M2")),
        "DT",
    ),
    DeviceKind("virtual_machine", "Windows 11", _WIN11, 4, _VIRTUAL, "VD"),
    DeviceKind("virtual_machine", "Windows 10", _WIN10, 3, _VIRTUAL, "VD"),
    DeviceKind("virtual_machine", "Ubuntu 22.04", _UBUNTU, 3, _VIRTUAL, "VM"),
    DeviceKind(
        "mobile",
        "iOS 17",
        ("17.4.1", "17.3.1"),
        3,
        (("Apple", "iPhone 15"), ("Apple", "iPhone 14"), ("Apple", "iPad Air M2")),
        "MO",
    ),
    DeviceKind(
        "mobile", "Android 14", ("14",), 2, (("Samsung", "Galaxy S24"), ("Google", "Pixel 8")), "MO"
    ),
    DeviceKind(
        "mobile",
        "Windows 11",
        _WIN11,
        3,
        (("Microsoft", "Surface Go 4"), ("Panasonic", "Toughbook G2")),
        "MO",
    ),
    DeviceKind(
        "server",
        "Ubuntu 22.04",
        _UBUNTU,
        2,
        (("Dell", "PowerEdge R760"), ("HPE", "ProLiant DL380 Gen11")),
        "SV",
    ),
)

CMDB_CLASSES: Final = {
    "laptop": "cmdb_ci_computer",
    "desktop": "cmdb_ci_computer",
    "virtual_machine": "cmdb_ci_vm_instance",
    "mobile": "cmdb_ci_handheld_computing",
    "server": "cmdb_ci_linux_server",
}

DEVICE_STATUSES: Final = (("active", 95), ("inactive", 3), ("maintenance", 2))
INSTALL_STATUS: Final = {
    "active": "installed",
    "inactive": "in_stock",
    "maintenance": "in_maintenance",
}
NONCOMPLIANCE_REASONS: Final = (
    "os_update_overdue",
    "disk_encryption_disabled",
    "antivirus_signatures_outdated",
    "firewall_disabled",
    "password_policy_not_met",
)

RINGS: Final = ("lab", "canary", "pilot", "department", "global")
RING_SHARES: Final = (0.001, 0.01, 0.1, 0.5)
"""Lab 50, Canary 500, Pilot 5,000, Department 25,000 of 50,000 devices; Global the rest."""

RING_DAYS: Final = (1.0, 2.0, 3.0, 5.0, 7.0)
"""Typical days a rollout spends in each ring."""

DEPLOYMENT_STATUSES: Final = (
    ("completed", 70),
    ("in_progress", 20),
    ("failed", 8),
    ("rolled_back", 2),
)
APP_STATUSES: Final = (("deployed", 80), ("pending", 15), ("failed", 5))
CHANGE_OUTCOMES: Final = (("approved", 80), ("pending", 15), ("denied", 5))

STANDARD_APPS: Final = (
    ("Microsoft 365 Apps", "Microsoft"),
    ("Adobe Acrobat", "Adobe"),
    ("Google Chrome", "Google"),
    ("Slack", "Salesforce"),
    ("Zoom Workplace", "Zoom"),
    ("Microsoft Teams", "Microsoft"),
    ("Mozilla Firefox", "Mozilla"),
    ("Visual Studio Code", "Microsoft"),
    ("7-Zip", "Igor Pavlov"),
    ("Notepad++", "Don Ho"),
    ("Docker Desktop", "Docker"),
    ("Git for Windows", "Git"),
    ("Python", "PSF"),
    ("Node.js", "OpenJS Foundation"),
    ("Tableau Desktop", "Salesforce"),
    ("Cisco Secure Client", "Cisco"),
    ("CrowdStrike Falcon Sensor", "CrowdStrike"),
    ("1Password", "AgileBits"),
    ("Webex", "Cisco"),
    ("Postman", "Postman"),
)

LOB_PREFIXES: Final = (
    "Ledger",
    "Payroll",
    "Onboarding",
    "Asset",
    "Incident",
    "Release",
    "Inventory",
    "Billing",
    "Forecast",
    "Compliance",
    "Vendor",
    "Contract",
    "Expense",
    "Recruiting",
    "Telemetry",
)
LOB_SUFFIXES: Final = (
    "Portal",
    "Service",
    "Console",
    "Sync",
    "Tracker",
    "Gateway",
    "Reporter",
    "Workbench",
    "Agent",
    "Hub",
)

AUDIT_TYPES: Final = (
    ("deployment", 35),
    ("approval", 10),
    ("policy_change", 5),
    ("user_action", 50),
)
USER_ACTIONS: Final = (
    "Signed in to the admin console",
    "Viewed device inventory",
    "Exported a compliance report",
    "Triggered a sync",
    "Updated a connection",
    "Created an API token",
    "Viewed a change request",
)
POLICY_FILES: Final = (
    "deployment/rings.rego",
    "deployment/compliance.rego",
    "cab/quorum.rego",
    "cab/separation_of_duties.rego",
    "data/thresholds.json",
)

HOUR_WEIGHTS: Final = (
    1,
    1,
    1,
    1,
    1,
    2,
    4,
    8,
    14,
    18,
    18,
    16,
    12,
    16,
    18,
    17,
    14,
    10,
    6,
    4,
    3,
    2,
    2,
    1,
)
"""Relative activity per UTC hour on a working day: a business-hours curve."""

WEEKEND_FACTOR: Final = 0.25
"""Weekend days see a quarter of a working day's activity."""

EVIDENCE_ITEMS: Final = (
    "risk_assessment",
    "test_plan",
    "rollback_plan",
    "security_scan",
    "implementation_plan",
    "pilot_results",
)
STANDALONE_CHANGES: Final = (
    "Core switch firmware upgrade",
    "Database failover test",
    "Firewall rule update for the DMZ",
    "Certificate rotation on the API gateway",
    "Identity provider SSO configuration change",
    "Storage array expansion",
    "VPN concentrator replacement",
    "Kubernetes cluster upgrade",
)
