"""The package's shape: one package per flow, a handful of modules at the root, and
imports that run one way (no module imports itself back through another)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "service"
FLOWS = {
    "api",
    "batches",
    "certificates",
    "cli",
    "contract",
    "documents",
    "forms",
    "registry",
    "sealing",
    "signing",
    "workers",
    "verification",
    "observability",
}
ROOT_MODULES = {"__init__", "__main__", "app", "config", "errors", "runtime", "checks", "services"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py") if "migrations" not in p.parts}


def top_level_imports(path: Path, known: set[str]) -> set[str]:
    """The service modules ``path`` imports when it is imported (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    found = set()
    for node in ast.parse(path.read_text("utf-8")).body:
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycles():
    mods = modules()
    graph = {name: top_level_imports(path, set(mods)) - {name} for name, path in mods.items()}
    # A package's __init__ runs before its submodules: importing a.b imports a too.
    for name in list(graph):
        parent = name.rsplit(".", 1)[0]
        if "." in name and parent in graph:
            graph[name].add(parent)
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_one_package_per_flow_and_a_handful_of_root_modules():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= FLOWS, packages - FLOWS
    root = {p.stem for p in ROOT.glob("*.py")}
    assert root <= ROOT_MODULES, root - ROOT_MODULES


def test_the_pure_core_does_not_reach_for_the_edges():
    """documents and signing take and return bytes and plain data: they import neither
    the registry, the API, nor the flows built on them."""
    mods = modules()
    edges = (
        "service.api",
        "service.registry",
        "service.certificates",
        "service.verification",
        "service.sealing",
        "service.cli",
        "service.batches",
        "service.app",
        "service.services",
    )
    for name, path in mods.items():
        if name.startswith(("service.documents", "service.signing")):
            bad = {m for m in top_level_imports(path, set(mods)) if m.startswith(edges)}
            assert not bad, (name, bad)


def test_the_pure_core_knows_nothing_of_logs_and_metrics():
    """Request ids, log lines and metrics live at the edges (service.observability): the
    pure core renders, signs and validates the same whoever watches."""
    mods = modules()
    for name, path in mods.items():
        if name.startswith(("service.documents", "service.signing", "service.forms", "service.contract")):
            bad = {m for m in top_level_imports(path, set(mods)) if m.startswith("service.observability")}
            assert not bad, (name, bad)


def test_readme_layout_names_every_package():
    readme = (ROOT.parent / "README.md").read_text("utf-8")
    layout = readme[readme.index("## Layout") :]
    for package in (p.parent.name for p in ROOT.glob("*/__init__.py")):
        assert f"  {package}/" in layout, package
