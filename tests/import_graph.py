"""The project's import graph, read with `ast` from the source (nothing is imported).

Imports are read module-level and inside functions alike, so an arrow hidden in a
function-level import is seen too; only `if TYPE_CHECKING:` blocks, which never run, are left
out. Used by tests/test_layout.py (cycles) and tests/test_architecture.py (the layer rules).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "tasks", "blocks", "spark", "validation", "panel_dashboard")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_files(packages: tuple[str, ...] = (*PACKAGES, "benchmarks")) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    return {
        module_name(path): path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST, *, module_level_only: bool) -> Iterator[ast.stmt]:
    """Import statements that run: all of them, or only those run when the module is imported
    (function bodies left out; class bodies run at import, so they stay)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            elif module_level_only and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            ):
                continue
            else:
                stack.append(child)


def imported_names(module: str, path: Path, *, module_level_only: bool = False) -> set[str]:
    """Every dotted name the module imports: `import a.b` -> a.b; `from a.b import c` -> a.b.c
    and a.b (a name imported from a package may be a submodule or an attribute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(tree, module_level_only=module_level_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def resolve(name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules that importing `name` runs: the module and its packages."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()


def import_graph(modules: dict[str, Path], *, module_level_only: bool = False):
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path, module_level_only=module_level_only):
            targets |= resolve(name, modules)
        # a module's own packages are imported before it runs: not an edge of a cycle
        graph[module] = targets - {module} - resolve(module, modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def one_loop(graph: dict[str, set[str]], group: list[str]) -> str:
    """A readable path around one cycle of the group: a -> b -> a."""
    members, start = set(group), group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return " -> ".join([*paths[node], start])
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    return ", ".join(group)


def closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        for target in graph[frontier.pop()] - seen:
            seen.add(target)
            frontier.append(target)
    return seen


def external_imports(modules: dict[str, Path], closure: set[str], **kwargs) -> set[str]:
    return {
        name
        for module in closure
        for name in imported_names(module, modules[module], **kwargs)
        if not resolve(name, modules)
    }
