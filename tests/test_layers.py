"""The layers hold: the core names no partner, only the composition root imports definitions.py, and
import-linter (the CI contract) refuses an import that points up a layer."""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTNER = re.compile(r"econobis|hoom|woningpas|fluvius", re.IGNORECASE)
# Where the core may name a partner in code (comments and docstrings may always): data tables and constants.
ALLOWED = {
    # field-level survivorship: which source wins, declared once, as data (../shared/ARCHITECTURE.md)
    "hub/canonical/survivorship.py": "source ranking data",
    # canonical fields that carry a partner's id or status; to become an external-ids map (docs/limits.md)
    "hub/canonical/models.py": "partner-id fields of the canonical model",
}


def _code_tokens(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every NAME and non-docstring STRING token: what the code says, not what it explains."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(first.lineno)
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME or (tok.type == tokenize.STRING and tok.start[0] not in docstrings):
            out.append((tok.start[0], tok.string))
    return out


def test_the_core_names_no_partner_outside_its_data_tables():
    found = []
    for path in sorted((ROOT / "hub").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED or "/migrations/" in rel:
            continue
        found += [f"{rel}:{line}: {text}" for line, text in _code_tokens(path) if PARTNER.search(text)]
    assert found == [], "the core names a partner:\n" + "\n".join(found)


def test_only_the_composition_root_imports_definitions():
    importers = []
    for top in ("hub", "connectors", "couplings", "assets", "schedules"):
        for path in (ROOT / top).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n == "definitions" or n.startswith("definitions.") for n in names):
                    importers.append(path.relative_to(ROOT).as_posix())
    assert importers == []


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(tree)}
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("tree")
    for top in ("app", "hub", "couplings", "connectors", "assets", "schedules"):
        shutil.copytree(ROOT / top, dst / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    shutil.copy(ROOT / "definitions.py", dst / "definitions.py")
    return dst


def test_import_linter_keeps_the_contracts_of_the_tree_as_it_is(tree_copy: Path):
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        # a lazy import, inside a function, in the core: still an upward dependency
        ("hub/merge.py", "\n\ndef _planted() -> None:\n    import assets  # noqa\n", "Layers"),
        ("connectors/hoomdossier/client.py", "\nimport connectors.econobis.client  # noqa\n", "One room per partner"),
        ("couplings/follow_up.py", "\nimport schedules  # noqa\n", "Layers"),
    ],
)
def test_import_linter_refuses_a_planted_upward_or_sideways_import(tree_copy: Path, module, planted, contract):
    target = tree_copy / module
    original = target.read_text(encoding="utf-8")
    target.write_text(original + planted, encoding="utf-8")
    try:
        result = _lint_imports(tree_copy)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout, result.stdout
