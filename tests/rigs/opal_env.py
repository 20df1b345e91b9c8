"""The separate virtual environment that holds OPAL 0.9.9 (it pins pydantic<2).

``ensure_opal_venv()`` creates ``.opal-venv`` at the repository root when it is
missing or incomplete, under a file lock so parallel test processes don't race.
The environment is kept across runs; a stamp file records what was installed.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

OPAL_VERSION = "0.9.9"
REQUIREMENTS = (f"opal-server=={OPAL_VERSION}", f"opal-client=={OPAL_VERSION}")
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".opal-venv"
STAMP = VENV / f".installed-opal-{OPAL_VERSION}"


def opal_bin(name: str) -> Path:
    """Path of an executable (``python``, ``opal-server``, ``opal-client``) in the OPAL venv."""
    return VENV / "bin" / name


def ensure_opal_venv() -> Path:
    """Create and fill ``.opal-venv`` if needed; returns its path."""
    if STAMP.exists():
        return VENV
    lock_path = ROOT / ".opal-venv.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not STAMP.exists():
            _install()
    return VENV


def _install() -> None:
    if not opal_bin("python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(opal_bin("python")), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The pip that ``venv`` seeds (23.x) backtracks for minutes on OPAL's pins; a current one
    # resolves them in seconds.
    _run([*pip, "--upgrade", "pip"])
    _run([*pip, *REQUIREMENTS])
    STAMP.touch()


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


if __name__ == "__main__":
    print(ensure_opal_venv())
