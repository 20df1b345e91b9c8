"""The README's configuration reference names every setting."""

from __future__ import annotations

import re
from pathlib import Path

from pip_service.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_variables(text: str) -> set[str]:
    """``PIP_*`` names in the table, expanding ``PIP_TTL_RESTRICTED`` / ``_CONFIDENTIAL``."""
    names: set[str] = set()
    for line in text.splitlines():
        cells = line.split("|")
        if len(cells) < 3 or "PIP_" not in cells[1]:
            continue
        found = re.findall(r"`(PIP_[A-Z_]+|_[A-Z_]+)`", cells[1])
        stem = ""
        for name in found:
            if name.startswith("PIP_"):
                names.add(name)
                stem = name.rsplit("_", 1)[0]
            else:
                names.add(stem + name)
    return names


def test_every_setting_is_in_the_configuration_reference() -> None:
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    expected = {f"PIP_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented_variables(section) == set()
