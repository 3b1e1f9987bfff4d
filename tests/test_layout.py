"""The package's shape: one package per flow, a handful of modules at the root, and
imports that run one way (no module imports itself back through another)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "service"
FLOWS = {
    "api",
    "profiles",
    "batches",
    "certificates",
    "cli",
    "contract",
    "documents",
    "forms",
    "registry",
    "sealing",
    "signing",
    "ofd",
    "workers",
    "verification",
    "observability",
    "offline",
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


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else module


def test_no_import_cycles_between_packages():
    """Not only modules: the packages' arrows run one way too (a flow that imports the
    composition root, which imports the flow, is a cycle even when no module loops)."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        for dep in top_level_imports(path, set(mods)):
            if _package(name) != _package(dep):
                graph.setdefault(_package(name), set()).add(_package(dep))
    cycles = []

    def reach(start: str, node: str, seen: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                cycles.append(" -> ".join([*seen, nxt]))
            elif nxt not in seen:
                reach(start, nxt, [*seen, nxt])

    for package in sorted(graph):
        reach(package, package, [package])
    assert not cycles, "\n".join(sorted(set(cycles)))


def test_the_core_imports_only_the_core():
    """documents and signing (the rendering and signing cores), offline (the QR payload and
    the published lists), contract (the payloads) and forms (rendering a form from them) import nothing of the flows and edges built on
    them, nor the composition root."""
    mods = modules()
    core = {
        "documents": {"documents"},
        "signing": {"signing"},
        "contract": {"contract", "documents"},
        "forms": {"forms", "contract", "documents", "workers", "profiles", "offline"},
        "profiles": {"profiles"},
        "ofd": {"ofd", "signing", "documents", "forms", "contract", "profiles", "workers", "offline"},
        "offline": {"offline"},
    }
    allowed_roots = {"service.errors", "service.config", "service"}
    for name, path in mods.items():
        package = _package(name)
        if package not in core:
            continue
        for dep in top_level_imports(path, set(mods)):
            if dep in allowed_roots or _package(dep) in core[package]:
                continue
            raise AssertionError(f"{name} imports {dep}")


def test_workers_import_no_flow():
    mods = modules()
    for name, path in mods.items():
        if name.startswith("service.workers"):
            bad = {
                m
                for m in top_level_imports(path, set(mods))
                if _package(m) not in ("workers", "errors", "config", "observability", "runtime")
            }
            assert not bad, (name, bad)


def test_no_sql_outside_the_registry():
    """Statements are built in service/registry/ only, behind named functions."""
    pattern = re.compile(r"(?<![\w.])(select|update|delete|insert|text)\(|\.execute\(|\.scalars?\(|session\.query\(")
    offenders = []
    for name, path in modules().items():
        if name.startswith("service.registry"):
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if pattern.search(code) and "import" not in code and not code.lstrip().startswith(("def ", "async def ")):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


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
