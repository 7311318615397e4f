"""The house's layer rules, written down once and enforced from the code's own imports.

    flows -> tasks -> {spark, validation, blocks}

- blocks and validation never import tasks or flows; tasks never import flows;
- spark (the gold job, run under spark-submit) imports none of tasks, blocks or flows;
- the stage packages (tasks/sources, silver, gold, warehouse, lifecycle) never import each
  other: stages meet through the lake and the catalog (tasks/layers/ reads a layer back);
- no Prefect in spark/ or validation/, nor in what importing the dashboard runs.

Imports are read with `ast` (tests/import_graph.py): module-level and inside functions alike,
`if TYPE_CHECKING:` left out. Every failure names the importing file, the imported module and
the rule it breaks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.import_graph import (
    ROOT,
    closure,
    external_imports,
    import_graph,
    imported_names,
    project_files,
)

STAGES = ("sources", "silver", "gold", "warehouse", "lifecycle")
# Silver reads bronze through the payload formats the sources land: declared here, one by one,
# until they move beside the bronze layer (tasks/layers/). Any other cross-stage import fails.
BRONZE_FORMATS = frozenset({
    "tasks.sources.olist.contract", "tasks.sources.olist.parse", "tasks.sources.olist.csv_records",
    "tasks.sources.ipca.parse", "tasks.sources.open_meteo.parse", "tasks.sources.openweather.parse",
})  # fmt: skip
# The dashboard reads the warehouse through these, and nothing else of `tasks.warehouse`:
# the schema, how to connect (with the sealed-authority check on where), the lineage record.
WAREHOUSE_READ_SIDE = {
    "tasks.warehouse", "tasks.warehouse.connection", "tasks.warehouse.authority",
    "tasks.warehouse.schema", "tasks.warehouse.lineage",
}  # fmt: skip


def _top(name: str) -> str:
    return name.split(".")[0]


def _stage(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tasks" and parts[1] in STAGES else None


def _prefect(name: str) -> bool:
    return _top(name) == "prefect"


def _bronze_format(name: str) -> bool:
    return name in BRONZE_FORMATS or name.rpartition(".")[0] in BRONZE_FORMATS


def _other_stage(importer: str, name: str) -> bool:
    mine, theirs = _stage(importer), _stage(name)
    if mine is None or theirs is None or mine == theirs:
        return False
    return not (mine == "silver" and theirs == "sources" and _bronze_format(name))


@dataclass(frozen=True)
class Rule:
    text: str
    applies: Callable[[str], bool]  # to the importing module
    forbids: Callable[[str, str], bool]  # (importer, imported name)


RULES = (
    Rule(
        "blocks and validation never import tasks or flows",
        lambda m: _top(m) in {"blocks", "validation"},
        lambda m, n: _top(n) in {"tasks", "flows"},
    ),
    Rule("tasks never import flows", lambda m: _top(m) == "tasks", lambda m, n: _top(n) == "flows"),
    Rule(
        "spark imports none of tasks, blocks or flows (spark-submit ships it alone)",
        lambda m: _top(m) == "spark",
        lambda m, n: _top(n) in {"tasks", "blocks", "flows"},
    ),
    Rule(
        "stage packages never import each other (they meet through the lake and the catalog)",
        lambda m: _stage(m) is not None,
        _other_stage,
    ),
    Rule(
        "no Prefect in spark/ or validation/",
        lambda m: _top(m) in {"spark", "validation"},
        lambda m, n: _prefect(n),
    ),
)


def violations(imports: dict[str, set[str]], files: dict[str, Path]) -> list[str]:
    """`file imports module: rule` for every import in `imports` ({module: names}) a rule
    forbids."""
    found = []
    for module, names in sorted(imports.items()):
        for rule in RULES:
            if rule.applies(module):
                found += [
                    f"{files[module]} imports {name}: {rule.text}"
                    for name in sorted(names)
                    if rule.forbids(module, name)
                ]
    return found


def _project_imports() -> tuple[dict[str, set[str]], dict[str, Path]]:
    modules = project_files()
    imports = {module: imported_names(module, path) for module, path in modules.items()}
    return imports, {m: p.relative_to(ROOT) for m, p in modules.items()}


def test_the_layer_rules_hold():
    imports, files = _project_imports()
    broken = violations(imports, files)
    assert not broken, "layer rules broken:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize(
    ("module", "name", "rule"),
    [
        ("blocks.lake.store", "tasks.bronze", "blocks and validation never import tasks"),
        ("validation.gate", "flows.cli", "blocks and validation never import tasks or flows"),
        ("tasks.resume", "flows.options", "tasks never import flows"),
        ("spark.gold_job", "blocks.lake", "spark imports none of tasks, blocks or flows"),
        ("tasks.warehouse.run", "tasks.gold.versions", "stage packages never import each other"),
        ("tasks.gold.run", "tasks.silver.olist.read_silver", "stage packages never import"),
        ("tasks.silver.olist", "tasks.sources.olist.ingest", "stage packages never import"),
        ("tasks.sources.olist.parse", "tasks.silver.masking", "stage packages never import"),
        ("spark.engine", "prefect", "no Prefect in spark/ or validation/"),
        ("validation.schemas", "prefect.logging", "no Prefect in spark/ or validation/"),
    ],
)
def test_each_rule_fails_on_a_forbidden_import(module, name, rule):
    files = {module: Path(*module.split(".")).with_suffix(".py")}
    broken = violations({module: {name}}, files)
    assert len(broken) == 1, broken
    assert broken[0].startswith(f"{files[module]} imports {name}: {rule}"), broken


def test_allowed_imports_break_no_rule():
    allowed = {
        "flows.gold": {"tasks.gold.run", "blocks.settings", "prefect"},
        "tasks.gold.run": {"tasks.layers.silver", "tasks.reports", "spark.engine", "prefect"},
        "tasks.silver.olist": {"tasks.sources.olist.parse.TYPES", "tasks.sources.ipca.parse"},
        "tasks.warehouse.run": {"tasks.layers.gold", "tasks.warehouse.lineage"},
        "blocks.lake.store": {"validation.catalog", "prefect.blocks"},
        "spark.gold_job": {"validation.catalog", "pyspark"},
    }
    files = {m: Path(f"{m}.py") for m in allowed}
    assert violations(allowed, files) == []


def test_the_dashboard_imports_neither_prefect_nor_the_warehouse_load():
    modules = project_files()
    graph = import_graph(modules, module_level_only=True)
    reached = closure("panel_dashboard.app", graph)
    external = external_imports(modules, reached, module_level_only=True)
    assert not {n for n in external if _prefect(n)}, (
        f"importing panel_dashboard.app reaches Prefect through {sorted(reached)}: "
        "no Prefect in the dashboard's read side"
    )
    warehouse = {m for m in reached if m.startswith("tasks.warehouse")}
    assert warehouse <= WAREHOUSE_READ_SIDE, (
        f"the dashboard reaches {sorted(warehouse - WAREHOUSE_READ_SIDE)}: it reads the "
        "warehouse through its read side only"
    )
    # Not even a function-level import may reach the load side.
    anywhere = {
        (str(path.relative_to(ROOT)), name)
        for module, path in modules.items()
        if module.startswith("panel_dashboard")
        for name in imported_names(module, path)
        if name.startswith("tasks.warehouse.")
    }
    beyond = {
        (file, name)
        for file, name in anywhere
        if (name if name in modules else name.rpartition(".")[0]) not in WAREHOUSE_READ_SIDE
    }
    assert not beyond, f"the dashboard imports the warehouse's load side: {sorted(beyond)}"


def _loaded_after(code: str) -> set[str]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    code += "; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_importing_the_dashboard_loads_no_prefect_module():
    loaded = _loaded_after("import sys, panel_dashboard.app")
    assert not {m for m in loaded if _prefect(m)}, "panel_dashboard.app loads Prefect"
    warehouse = {m for m in loaded if m.startswith("tasks.warehouse")}
    assert warehouse <= WAREHOUSE_READ_SIDE, f"panel_dashboard.app loads {warehouse}"


def test_importing_the_spark_job_loads_no_prefect_module():
    """What the import graph cannot see: a third-party module that pulls Prefect in."""
    loaded = _loaded_after("import sys, spark.gold_job, spark.spark_engine")
    assert not {m for m in loaded if _prefect(m)}, "spark.gold_job or spark_engine loads Prefect"
