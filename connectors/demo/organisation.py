"""The demo organisation: people's names, departments, roles and the 20 global sites."""

from __future__ import annotations

from typing import Final, NamedTuple

# fmt: off
FIRST_NAMES: Final = (
    "Aaliyah", "Aarav", "Abigail", "Ada", "Adrian", "Aiko", "Alejandro", "Alice", "Amara",
    "Amelia", "Ana", "Andrei", "Anika", "Arjun", "Ava", "Beatriz", "Ben", "Bianca", "Carlos",
    "Chen", "Chloe", "Daniel", "Dmitri", "Elena", "Elif", "Emma", "Erik", "Fatima", "Felix",
    "Freya", "Gabriel", "Grace", "Hana", "Hannah", "Hiro", "Ibrahim", "Ines", "Isabella", "Ivan",
    "Jack", "James", "Jia", "Jonas", "Julia", "Kai", "Kavya", "Kenji", "Laila", "Lars", "Leila",
    "Liam", "Lucas", "Lucia", "Maya", "Mei", "Mateo", "Mia", "Mohammed", "Nadia", "Noah", "Nora",
    "Oliver", "Olivia", "Omar", "Priya", "Rafael", "Rania", "Rohan", "Sakura", "Samuel", "Sara",
    "Sofia", "Stefan", "Tariq", "Thomas", "Valentina", "Victor", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES: Final = (
    "Abe", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brown", "Campbell",
    "Chen", "Costa", "Das", "Dubois", "Eriksson", "Fernandez", "Fischer", "Garcia", "Gupta",
    "Hansen", "Hassan", "Ito", "Ivanova", "Jensen", "Johnson", "Kaur", "Kim", "Kowalski", "Kumar",
    "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Mueller", "Murphy", "Nakamura",
    "Nguyen", "Nielsen", "Novak", "Okafor", "Olsen", "Park", "Patel", "Petrov", "Popescu",
    "Rossi", "Santos", "Sato", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor",
    "Tran", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Yamamoto", "Yilmaz",
    "Zhang",
)
# fmt: on


class Department(NamedTuple):
    """A department with its group key and the job titles of its staff and managers."""

    name: str
    group_key: str
    titles: tuple[str, ...]
    manager_title: str


DEPARTMENTS: Final = (
    Department(
        "IT Ops",
        "dept-it-ops",
        ("Systems Engineer", "Endpoint Engineer", "Service Desk Analyst", "Network Engineer"),
        "IT Operations Manager",
    ),
    Department(
        "Security",
        "dept-security",
        ("Security Analyst", "Security Engineer", "Identity Engineer"),
        "Security Manager",
    ),
    Department(
        "Development",
        "dept-development",
        ("Software Engineer", "Site Reliability Engineer", "QA Engineer", "Product Manager"),
        "Engineering Manager",
    ),
    Department(
        "HR", "dept-hr", ("HR Business Partner", "Recruiter", "Payroll Specialist"), "HR Manager"
    ),
    Department(
        "Finance",
        "dept-finance",
        ("Financial Analyst", "Accountant", "Controller"),
        "Finance Manager",
    ),
)

ROLES: Final = ("admin", "operator", "viewer", "demo")
"""The four roles, in the order of ``ROLE_SHARES``."""

ROLE_SHARES: Final = (50, 200, 500, 250)
"""Admin 50, Operator 200, Viewer 500, Demo 250 of every 1,000 users."""

ROLE_GROUPS: Final = {
    "admin": "admins",
    "operator": "operators",
    "viewer": "viewers",
    "demo": "demo-users",
}

ROLE_DEPARTMENT_WEIGHTS: Final = {
    "admin": (55, 35, 10, 0, 0),
    "operator": (45, 20, 35, 0, 0),
    "viewer": (15, 10, 35, 20, 20),
    "demo": (20, 20, 20, 20, 20),
}
"""Weights over ``DEPARTMENTS`` for the staff holding each role."""


class Site(NamedTuple):
    """One of the 20 global sites."""

    code: str
    name: str
    tier: str
    weight: int
    subnet: int


SITES: Final = (
    Site("NYC", "New York HQ", "HQ", 20, 10),
    Site("LON", "London Regional Office", "Regional", 9, 11),
    Site("SIN", "Singapore Regional Office", "Regional", 7, 12),
    Site("FRA", "Frankfurt Regional Office", "Regional", 7, 13),
    Site("SFO", "San Francisco Regional Office", "Regional", 7, 14),
    Site("TYO", "Tokyo Regional Office", "Regional", 6, 15),
    Site("TOR", "Toronto Branch", "Branch", 3, 16),
    Site("CHI", "Chicago Branch", "Branch", 4, 17),
    Site("AUS", "Austin Branch", "Branch", 4, 18),
    Site("DUB", "Dublin Branch", "Branch", 3, 19),
    Site("PAR", "Paris Branch", "Branch", 3, 20),
    Site("AMS", "Amsterdam Branch", "Branch", 3, 21),
    Site("MAD", "Madrid Branch", "Branch", 2, 22),
    Site("STO", "Stockholm Branch", "Branch", 2, 23),
    Site("BLR", "Bangalore Branch", "Branch", 5, 24),
    Site("SYD", "Sydney Branch", "Branch", 3, 25),
    Site("SAO", "Sao Paulo Branch", "Branch", 3, 26),
    Site("MEX", "Mexico City Branch", "Branch", 2, 27),
    Site("JNB", "Johannesburg Branch", "Branch", 2, 28),
    Site("DXB", "Dubai Branch", "Branch", 2, 29),
)
