"""Run Rego tests on the embedded OPA engine the way ``opa test`` does.

``opa-golib-python-bindings`` embeds OPA's Go engine (Rego v1 only). This
module loads a policy directory into it like ``opa test DIR --ignore schemas``
(every ``.rego`` module; every ``.json`` file as data at its directory's path)
and evaluates each ``test_*`` rule: a test passes when the rule is exactly
``true``; undefined, ``false``, any other value, or an evaluation error fails
it. Rules named ``todo_test_*`` are skipped. Run it as a script to get
``opa test``-like output::

    .venv/bin/python -m tests.policies.opa_runner policies
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"
IGNORED_DIRS = frozenset({"schemas"})
TEST_PREFIX = "test_"
SKIP_PREFIX = "todo_test_"

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_RULE_HEAD = re.compile(r"^((?:todo_)?test_\w+)\s*(?:if\b|:=|=|\{|contains\b|$)", re.MULTILINE)


class PolicyLoadError(Exception):
    """A module does not parse or compile, or a data file does not merge."""


@dataclass(frozen=True)
class RegoTest:
    """One ``test_*`` rule of a Rego package."""

    package: str
    name: str
    path: Path

    @property
    def id(self) -> str:
        """The rule's name as ``opa test`` prints it: ``data.<package>.<rule>``."""
        return f"data.{self.package}.{self.name}"

    @property
    def skipped(self) -> bool:
        return self.name.startswith(SKIP_PREFIX)


@dataclass(frozen=True)
class RegoTestResult:
    """The outcome of one Rego test: PASS, FAIL, ERROR or SKIPPED."""

    test: RegoTest
    outcome: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "PASS"

    def __str__(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.test.id}: {self.outcome}{detail}"


def policy_files(policy_dir: Path, suffix: str) -> list[Path]:
    """Files under policy_dir ending in suffix, skipping ignored directories."""
    return sorted(
        path
        for path in policy_dir.rglob(f"*{suffix}")
        if not IGNORED_DIRS.intersection(path.relative_to(policy_dir).parts[:-1])
    )


def load_engine(policy_dir: Path = POLICY_DIR) -> OpaEngine:
    """A new engine with every module and data file of policy_dir, compiled."""
    engine = OpaEngine()
    try:
        for path in policy_files(policy_dir, ".rego"):
            engine.add_policy(str(path.relative_to(policy_dir)), path.read_text())
        for path in policy_files(policy_dir, ".json"):
            engine.add_data(json.loads(path.read_text()), _data_path(policy_dir, path))
        engine.eval_query("true")  # compiles every module now, not at the first test
    except OpaError as err:
        engine.close()
        raise PolicyLoadError(str(err)) from err
    return engine


def _data_path(policy_dir: Path, path: Path) -> str:
    """``opa`` loads a JSON file at the path of its directory below the root."""
    return ".".join(path.relative_to(policy_dir).parts[:-1])


def discover(policy_dir: Path = POLICY_DIR) -> list[RegoTest]:
    """Every test rule of every module, in file order; duplicates are an error."""
    tests: list[RegoTest] = []
    for path in policy_files(policy_dir, ".rego"):
        tests.extend(_tests_in(path))
    _reject_duplicates(tests)
    return tests


def _tests_in(path: Path) -> Iterable[RegoTest]:
    source = path.read_text()
    package = _PACKAGE.search(source)
    if package is None:
        raise PolicyLoadError(f"{path}: no package declaration")
    seen: set[str] = set()
    for match in _RULE_HEAD.finditer(source):
        if match.group(1) not in seen:
            seen.add(match.group(1))
            yield RegoTest(package.group(1), match.group(1), path)


def _reject_duplicates(tests: list[RegoTest]) -> None:
    # ``opa test`` would rename a second definition; here the two would merge
    # into one rule, so a failing duplicate could hide behind a passing one.
    ids = [test.id for test in tests]
    duplicates = sorted({test_id for test_id in ids if ids.count(test_id) > 1})
    if duplicates:
        raise PolicyLoadError(f"test rules defined in more than one file: {duplicates}")


def run_test(engine: OpaEngine, test: RegoTest) -> RegoTestResult:
    """Evaluate one test rule; only the value ``true`` passes."""
    if test.skipped:
        return RegoTestResult(test, "SKIPPED")
    try:
        value: Any = engine.eval_document(f"{test.package}.{test.name}")
    except OpaUndefinedError:
        return RegoTestResult(test, "FAIL", "undefined")
    except OpaError as err:
        return RegoTestResult(test, "ERROR", str(err))
    if value is True:
        return RegoTestResult(test, "PASS")
    return RegoTestResult(test, "FAIL", f"evaluated to {json.dumps(value)}")


def run_package(engine: OpaEngine, tests: list[RegoTest]) -> list[RegoTestResult]:
    """Run the tests of one package with one query (one query preparation).

    The package document holds the value of every defined rule; a test missing
    from it is undefined. When any rule of the package raises an error, the
    tests are evaluated one by one so the error is pinned to its test.
    """
    packages = {test.package for test in tests}
    if len(packages) != 1:
        raise ValueError(f"tests of one package expected, got {sorted(packages)}")
    try:
        document: Any = engine.eval_document(packages.pop())
    except OpaError:
        return [run_test(engine, test) for test in tests]
    return [_result(test, document) for test in tests]


def _result(test: RegoTest, document: Any) -> RegoTestResult:
    if test.skipped:
        return RegoTestResult(test, "SKIPPED")
    if not isinstance(document, dict) or test.name not in document:
        return RegoTestResult(test, "FAIL", "undefined")
    if document[test.name] is True:
        return RegoTestResult(test, "PASS")
    return RegoTestResult(test, "FAIL", f"evaluated to {json.dumps(document[test.name])}")


def run_tests(engine: OpaEngine, tests: list[RegoTest]) -> list[RegoTestResult]:
    """Run tests package by package, keeping their order."""
    by_package: dict[str, list[RegoTest]] = {}
    for test in tests:
        by_package.setdefault(test.package, []).append(test)
    results = {
        result.test: result
        for package_tests in by_package.values()
        for result in run_package(engine, package_tests)
    }
    return [results[test] for test in tests]


def run_all(policy_dir: Path = POLICY_DIR) -> list[RegoTestResult]:
    """Load policy_dir and run every test in it."""
    tests = discover(policy_dir)
    engine = load_engine(policy_dir)
    try:
        return run_tests(engine, tests)
    finally:
        engine.close()


def main(argv: list[str]) -> int:
    """Print one line per test and a summary; exit 1 on any failure."""
    policy_dir = Path(argv[0]) if argv else POLICY_DIR
    results = run_all(policy_dir)
    for result in results:
        print(result)
    failed = [result for result in results if result.outcome in {"FAIL", "ERROR"}]
    passed = sum(result.passed for result in results)
    print("-" * 60)
    print(f"PASS: {passed}/{len(results)}" + (f"\nFAIL: {len(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
