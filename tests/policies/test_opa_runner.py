"""The Rego test runner fails what ``opa test`` fails, and loads what it loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policies.opa_runner import PolicyLoadError, discover, main, run_all

MODULE = """package sample_test

limit := data.limits.max

test_passes if limit == 3
test_is_false if limit == 4
test_is_undefined if data.nothing.here
test_is_not_boolean := "yes"
test_errors if 1 / 0 == 1
todo_test_later if false
helper_not_a_test if false
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        {
            "sample_test.rego": MODULE,
            "limits/data.json": '{"max": 3}',
            "schemas/a.schema.json": '{"type": "object"}',
            "schemas/b.schema.json": '{"type": "array"}',
        },
    )


def test_outcomes_follow_opa_test(sample: Path) -> None:
    outcomes = {result.test.name: result.outcome for result in run_all(sample)}
    assert outcomes == {
        "test_passes": "PASS",
        "test_is_false": "FAIL",
        "test_is_undefined": "FAIL",
        "test_is_not_boolean": "FAIL",
        "test_errors": "ERROR",
        "todo_test_later": "SKIPPED",
    }


def test_failures_are_reported_by_package_and_rule(
    sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(sample)]) == 1
    out = capsys.readouterr().out
    assert "data.sample_test.test_passes: PASS" in out
    assert "data.sample_test.test_is_false: FAIL: undefined" in out
    assert 'data.sample_test.test_is_not_boolean: FAIL: evaluated to "yes"' in out
    assert "data.sample_test.test_errors: ERROR: eval_error" in out
    assert "PASS: 1/6" in out


def test_a_passing_suite_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, {"ok_test.rego": "package ok_test\n\ntest_ok if true\n"})
    assert main([str(tmp_path)]) == 0
    assert "PASS: 1/1" in capsys.readouterr().out


def test_module_that_does_not_compile_fails_the_load(tmp_path: Path) -> None:
    _write(tmp_path, {"bad_test.rego": "package bad_test\n\ntest_x if y == 1\n"})
    with pytest.raises(PolicyLoadError, match="var y is unsafe"):
        run_all(tmp_path)


def test_rego_v0_syntax_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, {"old_test.rego": "package old_test\n\ntest_x { true }\n"})
    with pytest.raises(PolicyLoadError, match="`if` keyword is required"):
        run_all(tmp_path)


def test_a_test_defined_twice_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "a_test.rego": "package same_test\n\ntest_x if false\n",
            "b_test.rego": "package same_test\n\ntest_x if true\n",
        },
    )
    with pytest.raises(PolicyLoadError, match=r"data\.same_test\.test_x"):
        discover(tmp_path)


def test_an_error_in_one_test_does_not_hide_the_others(sample: Path) -> None:
    # The package holds an erroring test, so it is evaluated rule by rule.
    results = {result.test.name: result for result in run_all(sample)}
    assert results["test_errors"].detail.startswith("eval_error")
    assert results["test_passes"].passed


def test_failures_are_found_when_the_package_evaluates_in_one_query(tmp_path: Path) -> None:
    without_errors = MODULE.replace("test_errors if 1 / 0 == 1\n", "")
    _write(tmp_path, {"sample_test.rego": without_errors, "limits/data.json": '{"max": 3}'})
    outcomes = {result.test.name: result.outcome for result in run_all(tmp_path)}
    assert outcomes == {
        "test_passes": "PASS",
        "test_is_false": "FAIL",
        "test_is_undefined": "FAIL",
        "test_is_not_boolean": "FAIL",
        "todo_test_later": "SKIPPED",
    }
