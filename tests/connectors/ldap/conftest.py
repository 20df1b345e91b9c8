"""Fixtures of the LDAP connector tests: the real slapd and a fresh tree per test."""

from __future__ import annotations

import logging

import pytest

from tests.connectors.ldap.tree import Tree, build_tree
from tests.rigs.slapd import Slapd, slapd, slapd_factory  # noqa: F401  (fixtures)


@pytest.fixture
def tree(slapd: Slapd) -> Tree:  # noqa: F811
    """A fresh AD-like tree (users, nested groups, computers) under its own OU."""
    return build_tree(slapd)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture everything the connector logs, so tests can check no secret leaks."""
    caplog.set_level(logging.DEBUG)
