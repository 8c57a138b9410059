"""The shape of the house (README, "Where things are"): the domain packages at the top, the
plumbing in core/, the outside world in infra/, the commands in commands/; no import cycles, no
module over 400 lines, and a project import inside a function only where loading is
deliberately lazy, with the reason beside it (``# lazy: …``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {
    "tests",
    "migrations",
    "security",
    "translations",
    "node_modules",
    "docs",
    "static",
    "templates",
}
MAX_LINES = 400
#: Every permission rule lives in one module, as the house rules ask: it may grow past the rest.
ONE_MODULE_BY_DESIGN = {"auth.permissions": 600}


def _packages() -> set[str]:
    return {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and (p / "__init__.py").exists()
        and p.name not in NOT_CODE
        and not p.name.startswith(".")
    }


def _modules() -> dict[str, Path]:
    """Every module of the application by its dotted name (bench/ scripts by file name)."""
    found = {"app": ROOT / "app.py"}
    for package in _packages():
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for path in (ROOT / "bench").glob("*.py"):
        found[f"bench/{path.name}"] = path
    return found


def _is_project(name: str) -> bool:
    return name.split(".")[0] in _packages() | {"app"}


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    """The project modules an import statement loads (``from a.b import c``: a.b.c if it is a
    module, else a.b). The project imports absolutely (STYLE.md)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if _is_project(a.name)]
    assert not node.level, f"relative import of {node.module} at line {node.lineno}"
    base = node.module or ""
    if not _is_project(base):
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def _top_level_imports(tree: ast.Module):
    """Imports that run when the module is loaded (module level, if/try blocks included)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.Try):
            if (
                isinstance(node, ast.If)
                and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"
            ):
                continue
            stack.extend(node.body + node.orelse + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)


def test_at_most_one_loose_module_beside_app():
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name != "app.py")
    assert len(loose) <= 1, (
        f"modules beside app.py belong in a package (core/, infra/, commands/): {loose}"
    )


def test_no_module_is_over_400_lines():
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines()))
        > ONE_MODULE_BY_DESIGN.get(name, MAX_LINES)
    }
    assert not long, f"split by concern: {long}"


def test_no_import_cycles():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name.startswith("bench/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {
            t for node in _top_level_imports(tree) for t in _targets(node, modules) if t != name
        }
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_imports_inside_functions_say_why_they_are_lazy():
    modules = _modules()
    unexplained = []
    for path in modules.values():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom) and _targets(node, modules):
                    text = " ".join(lines[node.lineno - 1 : node.end_lineno])
                    if "# lazy:" not in text:
                        unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unexplained, (
        "a project import inside a function needs '# lazy: <why>' (a cycle is not a reason): "
        + ", ".join(unexplained)
    )
