"""The layout DESIGN.md promises: core is the ground floor and imports no domain package; the round engine
imports no workflow built on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "audit_app"
DOMAINS = {
    "accounts",
    "questionnaires",
    "rounds",
    "case_audits",
    "actions",
    "reporting",
    "api",
    "self_assessments",
    "reviews",
}


def _imported_packages(path: Path) -> set[str]:
    """The audit_app packages a module imports, at any depth (module level or inside functions)."""
    package = path.relative_to(APP).parts[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Imports only a type checker sees (``if TYPE_CHECKING:``) are names for annotations, not dependencies.
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("audit_app."):
                found.add(node.module.split(".")[1])
            elif node.level == 1:
                found.add(package)
            elif node.level == 2 and node.module:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("audit_app.")}
    return found


@pytest.mark.parametrize("path", sorted((APP / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_domain_package(path):
    assert _imported_packages(path) & DOMAINS == set()


@pytest.mark.parametrize("path", sorted((APP / "rounds").glob("*.py")), ids=lambda p: p.name)
def test_the_round_engine_imports_no_workflow_built_on_it(path):
    assert _imported_packages(path) & {"case_audits", "self_assessments", "reviews", "reporting", "api"} == set()
