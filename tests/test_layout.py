"""The layout's promises, read from the source: short modules, no import cycle, a dashboard
that reads the warehouse without Prefect or the load code, a Spark job free of the rest.

Imports are read with `ast` (module-level and inside functions alike), so a cycle hidden in a
function-level import is found too; only `if TYPE_CHECKING:` blocks, which never run, are
left out.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flows", "tasks", "blocks", "spark", "validation", "panel_dashboard")
MAX_LINES = 400
# The dashboard reads the warehouse through these, and nothing else of `tasks.warehouse`.
# The read side: the schema, and how to connect (with the sealed-authority check on where).
WAREHOUSE_READ_SIDE = {
    "tasks.warehouse", "tasks.warehouse.connection", "tasks.warehouse.authority",
    "tasks.warehouse.schema",
}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_files(packages: tuple[str, ...] = (*PACKAGES, "benchmarks")) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    return {
        _module_name(path): path
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


def _imported_names(module: str, path: Path, *, module_level_only: bool = False) -> set[str]:
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


def _resolve(name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules that importing `name` runs: the module and its packages."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()


def _import_graph(modules: dict[str, Path], *, module_level_only: bool = False):
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in _imported_names(module, path, module_level_only=module_level_only):
            targets |= _resolve(name, modules)
        # a module's own packages are imported before it runs: not an edge of a cycle
        graph[module] = targets - {module} - _resolve(module, modules)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
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


def _one_loop(graph: dict[str, set[str]], group: list[str]) -> str:
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


def _closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        for target in graph[frontier.pop()] - seen:
            seen.add(target)
            frontier.append(target)
    return seen


def test_no_module_passes_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _project_files(PACKAGES).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by capability): {long}"


def test_no_import_cycle_between_project_modules():
    graph = _import_graph(_project_files())
    loops = [_one_loop(graph, group) for group in _cycles(graph)]
    assert not loops, "import cycles:\n  " + "\n  ".join(loops)


def test_the_cycle_finder_sees_a_function_level_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _one_loop(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hidden\n"
        "def late():\n    from pkg import sub\n",
        encoding="utf-8",
    )
    assert _imported_names("m", module) == {"typing", "typing.TYPE_CHECKING", "pkg", "pkg.sub"}
    assert _imported_names("m", module, module_level_only=True) == {
        "typing",
        "typing.TYPE_CHECKING",
    }


def _external_imports(modules: dict[str, Path], closure: set[str], **kwargs) -> set[str]:
    return {
        name
        for module in closure
        for name in _imported_names(module, modules[module], **kwargs)
        if not _resolve(name, modules)
    }


def test_the_dashboard_imports_neither_prefect_nor_the_warehouse_load():
    modules = _project_files()
    graph = _import_graph(modules, module_level_only=True)
    closure = _closure("panel_dashboard.app", graph)
    external = _external_imports(modules, closure, module_level_only=True)
    assert not {n for n in external if n == "prefect" or n.startswith("prefect.")}, closure
    warehouse = {m for m in closure if m.startswith("tasks.warehouse")}
    assert warehouse <= WAREHOUSE_READ_SIDE, f"the dashboard reaches {warehouse}"
    # Not even a function-level import may reach the load side.
    anywhere = {
        name
        for module, path in modules.items()
        if module.startswith("panel_dashboard")
        for name in _imported_names(module, path)
        if name.startswith("tasks.warehouse.")
    }
    assert {n.rpartition(".")[0] if n not in modules else n for n in anywhere} <= (
        WAREHOUSE_READ_SIDE
    ), anywhere


def test_importing_the_dashboard_loads_no_prefect_module():
    code = (
        "import sys, panel_dashboard.app; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(('prefect', 'tasks.')))))"
    )
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert not {m for m in loaded if m == "prefect" or m.startswith("prefect.")}, loaded
    assert {m for m in loaded if m.startswith("tasks.warehouse")} <= WAREHOUSE_READ_SIDE, loaded


def test_spark_imports_no_prefect_tasks_or_blocks():
    modules = _project_files()
    found = {
        module: sorted(
            name
            for name in _imported_names(module, path)
            if name.split(".")[0] in {"prefect", "tasks", "blocks"}
        )
        for module, path in modules.items()
        if module.split(".")[0] == "spark"
    }
    assert not {module: names for module, names in found.items() if names}
