"""Demo data: seed a realistic enterprise through the sync engine, and clear it again."""

from pip_service.demo.service import (
    DEMO_CONNECTION_NAME,
    ClearResult,
    SeedProgress,
    SeedProgressCallback,
    SeedResult,
    clear_demo,
    seed_demo,
)

__all__ = [
    "DEMO_CONNECTION_NAME",
    "ClearResult",
    "SeedProgress",
    "SeedProgressCallback",
    "SeedResult",
    "clear_demo",
    "seed_demo",
]
