"""The house rules of `oracle/`: imports point one way, no module imports itself back, imports sit at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from oracle.domain import REPO_ROOT

PACKAGE = REPO_ROOT / "oracle"
LAYERS = [
    ["oracle.cli"],
    ["oracle.dev"],
    ["oracle.node", "oracle.adapter"],  # side by side: neither imports the other
    ["oracle.wire"],
    ["oracle.claim"],
    ["oracle.db", "oracle.chain"],
    ["oracle.assess"],
    ["oracle.sources", "oracle.explain", "oracle.vision"],
    ["oracle.cas", "oracle.privacy"],
    ["oracle.settings", "oracle.encoding"],
    ["oracle.deployment"],
    ["oracle.domain", "oracle"],
]
"""Each layer may import the layers below it (and itself), never one above or beside it."""
DEFERRED_IMPORTS = {
    ("oracle.vision.commands", "oracle.vision"): "training and export load torch, which serving never needs",
    ("oracle.vision.commands", "torch"): "checks torch is installed before training, with a clear message",
    ("oracle.dev.lifecycle", "ape"): "ape loads its plugins for seconds; only `claims-oracle lifecycle` needs it",
}
"""Imports allowed inside functions, by (module, imported package): an optional heavy dependency only."""


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path) -> list[tuple[str, bool]]:
    """The oracle modules (or third-party packages) a file imports, each with whether it is at the top level."""
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            out += [(name, node.col_offset == 0) for name in names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, node.col_offset == 0) for alias in node.names]
    return out


def layer(module: str) -> int:
    """The index of the layer a module belongs to (its longest matching prefix)."""
    best = max((p for row in LAYERS for p in row if module == p or module.startswith(p + ".")), key=len)
    return next(i for i, row in enumerate(LAYERS) if best in row)


def owner(module: str) -> str:
    """The layer entry a module belongs to (e.g. oracle.node)."""
    return max((p for row in LAYERS for p in row if module == p or module.startswith(p + ".")), key=len)


def graph() -> dict[str, set[str]]:
    """Module -> the oracle modules it imports (anywhere in the file)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported, _ in imports(path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "oracle":
                targets.add(imported)
        edges[name] = targets
    return edges


def test_imports__every_module__points_down_the_layers():
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if layer(target) < layer(module) or (layer(target) == layer(module) and owner(target) != owner(module))
    ]
    assert wrong == []


def test_imports__no_module__imports_itself_back():
    edges = graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for target in edges.get(node, ()):
            if target == path[0]:
                cycles.append(" -> ".join([*path, target]))
            elif target not in path and len(path) < 12:
                visit(target, [*path, target])

    for start in edges:
        visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports__module__at_the_top_unless_a_heavy_dependency(module):
    inside = sorted({name for name, top in imports(modules()[module]) if not top})
    allowed = {package for (owner_module, package) in DEFERRED_IMPORTS if owner_module == module}
    assert [name for name in inside if not any(name == a or name.startswith(a + ".") for a in allowed)] == []
