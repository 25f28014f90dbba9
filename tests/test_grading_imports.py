"""The grading package has no import circle, counting imports made only for type checking."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from htcourse.paths import PACKAGE_DIR

GRADING = PACKAGE_DIR / "grading"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> nx.DiGraph:
    """Every ``import``/``from ... import`` between modules under ``root``, wherever it stands
    (top level, inside a function, under ``if TYPE_CHECKING``)."""
    modules = {module_name(p): p for p in root.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                # the longest module name the import refers to (``a.b.c`` for ``from a.b import c``)
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph.add_edge(name, target)
    return graph


def test_the_grading_package_has_no_import_circle():
    cycles = list(nx.simple_cycles(import_graph(GRADING)))
    assert cycles == [], f"import circles in htcourse.grading: {cycles}"


def test_the_check_finds_a_type_only_circle(tmp_path, monkeypatch):
    package = tmp_path / "htcourse" / "grading"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from htcourse.grading.b import thing\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import Other\nthing = 1\n"
    )
    monkeypatch.setattr(__import__(__name__), "PACKAGE_DIR", tmp_path / "htcourse")
    graph = import_graph(package)
    assert sorted(map(sorted, nx.simple_cycles(graph))) == [["htcourse.grading.a", "htcourse.grading.b"]]
