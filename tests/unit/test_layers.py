"""The import rules of docs/DECISIONS.md ("the GraphQL layer by area"), read from the source with `ast`.

- `api/` areas import only from themselves, the areas before them, and `api/`'s shared modules;
  only `api/root.py` (and `api/nodes.py`, `api/schema.py`) import areas freely.
- Inside an area, `types.py` and `inputs.py` import no sibling but each other (inputs never import types).
- No import runs inside a function anywhere in the package (imports under `if TYPE_CHECKING:` never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "sessions_gql"
AREAS = ["availability", "people", "sessions", "packages", "messaging", "notifications"]
COMPOSERS = {"root.py", "nodes.py", "schema.py"}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imported(tree: ast.AST) -> list[tuple[str, int]]:
    """Every `sessions_gql...` module a file imports at run time (with the line), TYPE_CHECKING blocks left out."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("sessions_gql"):
                found.extend((f"{child.module}.{alias.name}", child.lineno) for alias in child.names)
            elif isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names
                             if alias.name.startswith("sessions_gql"))
            visit(child)

    visit(tree)
    return found


def _area_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "api" and parts[2] in AREAS else None


@pytest.mark.parametrize("area", AREAS)
def test_an_area_imports_only_the_areas_before_it(area: str) -> None:
    allowed = set(AREAS[: AREAS.index(area) + 1])
    wrong = []
    for path in sorted((PACKAGE / "api" / area).glob("*.py")):
        for dotted, line in _imported(ast.parse(path.read_text())):
            target = _area_of(dotted)
            if target is not None and target not in allowed:
                wrong.append(f"{path.name}:{line} imports {dotted}")
    assert wrong == []


def test_shared_api_modules_import_no_area() -> None:
    wrong = []
    for path in sorted((PACKAGE / "api").glob("*.py")):
        if path.name in COMPOSERS:
            continue
        wrong.extend(f"{path.name}:{line} imports {dotted}" for dotted, line in _imported(ast.parse(path.read_text()))
                     if _area_of(dotted) is not None)
    assert wrong == []


@pytest.mark.parametrize("area", AREAS)
def test_types_and_inputs_import_no_sibling_resolvers(area: str) -> None:
    wrong = []
    for name, siblings in (("types.py", {"inputs"}), ("inputs.py", set())):
        path = PACKAGE / "api" / area / name
        if not path.exists():
            continue
        for dotted, line in _imported(ast.parse(path.read_text())):
            parts = dotted.split(".")
            if _area_of(dotted) == area and len(parts) > 3 and parts[3] not in siblings:
                wrong.append(f"{name}:{line} imports {dotted}")
    assert wrong == []


def test_no_import_runs_inside_a_function() -> None:
    wrong = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                wrong.extend(f"{path.relative_to(PACKAGE)}:{inner.lineno}" for inner in ast.walk(node)
                             if isinstance(inner, ast.Import | ast.ImportFrom))
    assert wrong == []


def test_the_checks_see_imports_at_all() -> None:
    """The walks above find what they look for (a check that finds nothing anywhere would pass vacuously)."""
    sample = ast.parse("from sessions_gql.api.sessions.types import Session\n"
                       "def f():\n    from sessions_gql.api.packages import types\n")
    assert [dotted for dotted, _ in _imported(sample)] == ["sessions_gql.api.sessions.types.Session",
                                                           "sessions_gql.api.packages.types"]
    people = _imported(ast.parse((PACKAGE / "api" / "people" / "types.py").read_text()))
    assert "sessions_gql.api.availability.types.availability_of" in [dotted for dotted, _ in people]
