"""The package's import rules (docs/ARCHITECTURE.md, "The map"): every import of every module,
lazy ones inside functions included, goes to an allowed layer, and no modules import each other in
a circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS = (
    "whisper",
    "formats",
    "data",
    "data_tools",
    "models",
    "rig",
    "train",
    "inference",
    "bench",
    "cli",
)
EVERYTHING = {"core", "configs", *GROUPS}
ALLOWED = {
    "core": {"configs"},  # config.py finds the shipped configs' folder
    "configs": {"train"},  # a config starts from train.defaults
    "whisper": set(),
    "formats": set(),
    "data": {"whisper", "data_tools"},
    "data_tools": {"data"},
    "models": {"whisper", "data"},
    "rig": {"data", "formats"},
    "train": {"whisper", "data", "data_tools", "models"},
    "inference": {"whisper", "data", "data_tools", "models", "formats", "rig"},
    "bench": EVERYTHING - {"cli"},
    "cli": EVERYTHING,
}


def _sources() -> dict[str, Path]:
    """Module name → file, for the package and the folders installed into it."""
    out = {}
    for folder, package in (
        ("talkmesh_jax", "talkmesh_jax"),
        ("data_tools", "talkmesh_jax.data_tools"),
        ("configs", "talkmesh_jax.configs"),
    ):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts))
            out[name.removesuffix(".__init__")] = path
    return out


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports anywhere (`from a import b` names a.b when b is
    a module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name in modules}


def _group(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in (*GROUPS, "configs"):
        return parts[1]
    return "core"


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    return {name: _imports(path, set(sources)) - {name} for name, path in sources.items()}


def test_every_import_keeps_the_layers():
    broken = []
    for module, imported in _graph().items():
        group = _group(module)
        for target in imported:
            other = _group(target)
            if other != group and other != "core" and other not in ALLOWED[group]:
                broken.append(f"{module} ({group}) imports {target} ({other})")
    assert not broken, "\n".join(broken)


def test_no_import_circle():
    graph = _graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert not circles, circles


def test_the_rules_see_the_modules():
    """The checks above read real imports: the graph has the package's modules and edges."""
    graph = _graph()
    assert "talkmesh_jax.inference.runs" in graph and "talkmesh_jax.cli.main" in graph
    assert "talkmesh_jax.inference.predictor" in graph["talkmesh_jax.inference.runs"]
    assert "talkmesh_jax.models.registry" in graph["talkmesh_jax.models.build"]
