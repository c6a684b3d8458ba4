"""The package's layout: data flows one way through its rooms, and modules meet at public names.

Rooms in order: a module may import its own room and the rooms before it, never one after
(``benchmark`` knows nothing of training, ``stats`` nothing of runs on disk, and so on); ``cli``
sits on top. Every name one module takes from another is public (no leading underscore).
``python tests/test_layout.py`` prints the import graph between rooms.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "seedstudy"
ROOMS = ("benchmark", "training", "store", "stats", "report", "study")


def module_name(path: Path, root: Path) -> str:
    """``seedstudy/report/paper.py`` -> ``seedstudy.report.paper`` (a package: its own name)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    """The room a module lives in: ``report`` for seedstudy.report.paper, ``top`` for the rest."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else "top"


def imports(path: Path, root: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every seedstudy import in a file, at any depth."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("seedstudy")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                target = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("seedstudy"):
                found += [(target, a.name, node.lineno) for a in node.names]
    return found


def is_module(name: str, root: Path) -> bool:
    """True when ``name`` (dotted) is a module or package of seedstudy."""
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def edges(root: Path) -> list[tuple[str, str, str]]:
    """(importing module, imported module, where) for every import inside the package."""
    out = []
    for path in sorted((root / "seedstudy").rglob("*.py")):
        for target, name, line in imports(path, root):
            full = f"{target}.{name}" if name and is_module(f"{target}.{name}", root) else target
            out.append((module_name(path, root), full, f"{path.relative_to(root)}:{line}"))
    return out


def upward_imports(root: Path) -> list[str]:
    """Every import of a later room (or of the cli) by a module of the package."""
    order = {name: i for i, name in enumerate(ROOMS)}
    upward = []
    for source, target, where in edges(root):
        if target == "seedstudy":  # the package root: PROJECT_ROOT and the version, from anywhere
            continue
        src, dst = room(source), room(target)
        if dst == "top":
            upward.append(f"{where}: {source} imports {target} (cli is the top; nothing imports it)")
        elif src != "top" and order[dst] > order[src]:
            upward.append(f"{where}: {source} ({src}) imports {target} ({dst}), a later room")
    return upward


def private_uses(root: Path, folder: str) -> list[str]:
    """Every ``_private`` name a file under ``folder`` takes from a seedstudy module."""
    private = []
    for path in sorted((root / folder).rglob("*.py")):
        modules = {}  # local name -> seedstudy module, for attribute access
        for target, name, line in imports(path, root):
            if name.startswith("_") and not name.startswith("__"):
                private.append(f"{path.relative_to(root)}:{line}: imports {target}.{name}")
            if name and is_module(f"{target}.{name}", root):
                modules[name] = f"{target}.{name}"
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                private.append(f"{path.relative_to(root)}:{node.lineno}: uses {modules[node.value.id]}.{node.attr}")
    return private


def test_every_module_lives_in_a_room():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "cli")]
    assert not loose, f"modules outside the rooms {ROOMS}: {loose}"
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} == set(ROOMS)


def test_no_import_runs_back_up_the_rooms():
    problems = upward_imports(ROOT)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", ["seedstudy", "benchmarks"])
def test_modules_meet_at_public_names(folder):
    problems = private_uses(ROOT, folder)
    assert not problems, "\n".join(problems)


def test_the_checks_see_a_planted_upward_import_and_private_name(tmp_path):
    """The checks can fail: a stats module importing a private helper of the report is caught twice."""
    fake = tmp_path / "seedstudy"
    for package in (fake, fake / "stats", fake / "report"):
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text("")
    (fake / "report" / "paper.py").write_text("def _helper():\n    pass\n")
    (fake / "stats" / "macro.py").write_text("from ..report.paper import _helper\nfrom ..report import paper\n"
                                             "paper._helper()\n")
    assert upward_imports(tmp_path) == [
        "seedstudy/stats/macro.py:1: seedstudy.stats.macro (stats) imports seedstudy.report.paper (report), a later room",
        "seedstudy/stats/macro.py:2: seedstudy.stats.macro (stats) imports seedstudy.report.paper (report), a later room"]
    assert private_uses(tmp_path, "seedstudy") == [
        "seedstudy/stats/macro.py:1: imports seedstudy.report.paper._helper",
        "seedstudy/stats/macro.py:3: uses seedstudy.report.paper._helper"]


def room_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Room (or top-level module) -> the rooms it imports, its own left out."""
    graph = defaultdict(set)
    for source, target, _ in edges(root):
        if target != "seedstudy" and room(source) != room(target):
            graph[room(source) if room(source) != "top" else source].add(room(target))
    return graph


if __name__ == "__main__":
    for name in [*ROOMS, "seedstudy.cli"]:
        print(f"{name:14} -> {', '.join(sorted(room_graph().get(name, ()), key=ROOMS.index)) or '(nothing)'}")
