"""The layout's promises, read from the source: short modules and no import cycle (module-level
or inside a function). The layer rules (who may import whom, where Prefect may not go) are
tests/test_architecture.py.
"""

from __future__ import annotations

from tests.import_graph import (
    PACKAGES,
    ROOT,
    cycles,
    import_graph,
    imported_names,
    one_loop,
    project_files,
)

MAX_LINES = 400


def test_no_module_passes_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in project_files(PACKAGES).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by capability): {long}"


def test_no_import_cycle_between_project_modules():
    graph = import_graph(project_files())
    loops = [one_loop(graph, group) for group in cycles(graph)]
    assert not loops, "import cycles:\n  " + "\n  ".join(loops)


def test_the_cycle_finder_sees_a_function_level_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert one_loop(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hidden\n"
        "def late():\n    from pkg import sub\n",
        encoding="utf-8",
    )
    assert imported_names("m", module) == {"typing", "typing.TYPE_CHECKING", "pkg", "pkg.sub"}
    assert imported_names("m", module, module_level_only=True) == {
        "typing",
        "typing.TYPE_CHECKING",
    }
