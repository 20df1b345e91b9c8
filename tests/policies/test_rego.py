"""Every Rego test under policies/, run on the embedded OPA engine like ``opa test``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.policies.opa_runner import RegoTest, RegoTestResult, discover, load_engine, run_tests

REGO_TESTS = discover()


@pytest.fixture(scope="module")
def results() -> Iterator[dict[RegoTest, RegoTestResult]]:
    """Every Rego test run once on the policy pack (a query per package)."""
    engine = load_engine()
    try:
        yield {result.test: result for result in run_tests(engine, REGO_TESTS)}
    finally:
        engine.close()


def test_the_policy_pack_has_tests_for_every_module() -> None:
    packages = {test.package for test in REGO_TESTS}
    assert {
        "pip_policy.deployment_test",
        "pip_policy.cab_test",
        "pip_policy.lib.freshness_test",
        "pip_policy.lib.rbac_test",
        "pip_policy.lib.rings_test",
        "pip_policy.lib.timestamps_test",
    } <= packages


@pytest.mark.parametrize("rego_test", REGO_TESTS, ids=[test.id for test in REGO_TESTS])
def test_rego(results: dict[RegoTest, RegoTestResult], rego_test: RegoTest) -> None:
    result = results[rego_test]
    if rego_test.skipped:
        pytest.skip(f"{rego_test.id} is a todo_ test")
    assert result.passed, str(result)
