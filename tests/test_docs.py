"""The README and the runbook tell the truth: every command in them is run here or by a test.

`test_every_documented_command_is_accounted_for` fails when a command is added to the docs
without saying how it is exercised; `test_runbook_walkthrough` runs the cheap ones for real,
in order, in a fresh COFRE_HOME against the session's Prefect API.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/operations.md")

RUN_HERE = "run by test_runbook_walkthrough"
CI = "run by .ci/run"
COVERED = {
    "./dev run": CI,
    "./dev test": CI,
    "panel serve panel_dashboard/app.py --show": "tests/integration/test_dashboard_browser.py",
    "python -m flows.full_pipeline --help": "tests/flows/test_full_pipeline.py::test_cli_help_lists_the_options",
    "python -m flows.full_pipeline --synthetic-orders 2000 --sources snapshot": "tests/flows/test_full_pipeline.py",
    "python -m flows.full_pipeline --olist-dir ~/olist": "tests/flows/test_orchestration.py (--olist-dir with a generated set; the real Kaggle files are not downloadable here)",
    "python -m flows.full_pipeline --lake s3://my-lake": "tests/tasks/gold/test_gold_stage.py and tests/tasks/test_bronze.py (S3 lake on moto)",
    "python -m flows.full_pipeline --warehouse postgresql://cofre@db:5432/cofre": "tests/tasks/warehouse/test_warehouse.py (PostgreSQL URL without a password)",
    "python -m flows.full_pipeline --engine spark": "tests/flows/test_engines.py (both engines, end to end, the same gold)",
    "python -m flows.full_pipeline --master spark://spark-master:7077": "tests/spark/test_cluster.py::test_gold_stage_on_the_cluster_equals_local (a --master on a real standalone cluster)",
    "python -m flows.full_pipeline --resume RUN_ID": "tests/flows/test_resume.py::test_a_run_failed_in_the_warehouse_resumes_there_and_loads_what_a_clean_run_loads (the command, on a run that failed in the warehouse stage)",
    "python -m flows.ingestion --help": RUN_HERE,
    "cofre olist synth --orders 2000 --seed 7 --out /tmp/olist": RUN_HERE,
    "cofre keys init": RUN_HERE,
    "COFRE_SECRET_ACCESS_KEY_ID=... COFRE_SECRET_SECRET_ACCESS_KEY=... cofre secrets set s3 minio --set endpoint_url=http://localhost:9000": RUN_HERE,
    "COFRE_S3_CREDENTIALS_BLOCK=minio COFRE_S3_ENDPOINT_URL=http://localhost:9000 python -m flows.full_pipeline --lake s3://cofre-lake": "tests/blocks/test_credentials.py::test_s3_block_drives_a_real_s3_lake",
    "python -m flows.ingestion --only ipca,openweather --sources snapshot": RUN_HERE,
    "python -m flows.silver --masking-policy default": "tests/flows/test_full_pipeline.py (silver runs inside full_pipeline)",
    "python -m flows.gold": "tests/tasks/gold/test_gold_stage.py",
    "python -m flows.warehouse": "tests/flows/test_full_pipeline.py (warehouse runs inside full_pipeline)",
    "python -m flows.lifecycle --days 30 --dry-run": RUN_HERE,
    "python -m flows.lifecycle --days 30": RUN_HERE,
    "python -m flows.lifecycle --days 30 --install-s3-rules": "tests/tasks/lifecycle/test_lifecycle.py::test_native_s3_lifecycle_rules",
    'export PREFECT_SERVER_API_AUTH_STRING="admin:$(openssl rand -hex 24)"': "tests/integration/test_api_auth.py (a server started with it refuses an unauthenticated write)",
    "prefect server start --host 127.0.0.1 --port 4200": "tests/integration/test_deployments.py (tests/services.py starts it)",
    "export PREFECT_API_URL=http://127.0.0.1:4200/api": "tests/integration/test_deployments.py",
    "prefect block register -m blocks": RUN_HERE,
    "prefect work-pool create cofre-local --type process --base-job-template deploy/cofre-local-pool.json --overwrite": "tests/integration/test_run_overrides.py (the locked pool; tests/integration/test_deployments.py creates it too)",
    "prefect --no-prompt deploy --all": "tests/integration/test_deployments.py",
    "prefect --no-prompt deploy --name ipca-monthly --name weather-history-daily --name silver": "tests/test_docs.py::test_the_selective_deploy_names_real_deployments (names checked against prefect.yaml; --name is Prefect's own option)",
    "prefect deployment schedule ls ingestion/weather-snapshot-hourly": "tests/test_docs.py::test_the_selective_deploy_names_real_deployments (the deployment named is prefect.yaml's)",
    "prefect deployment schedule pause ingestion/weather-snapshot-hourly SCHEDULE_ID": "tests/test_docs.py::test_the_selective_deploy_names_real_deployments (the deployment named is prefect.yaml's)",
    "prefect worker start --pool cofre-local --type process": "tests/integration/test_deployments.py",
    "prefect deployment run full-pipeline/full-pipeline-daily --param synthetic_orders=2000 --param sources=snapshot --watch": "tests/integration/test_deployments.py",
    "prefect flow-run ls --limit 5": RUN_HERE,
    "prefect artifact ls": RUN_HERE,
    "python -m flows.ingestion --only open_meteo --weather-start 2016-09-01 --weather-end 2016-12-31": RUN_HERE,
    "python -m flows.silver && python -m flows.gold && python -m flows.warehouse": "tests/flows/test_full_pipeline.py (the same stages in order)",
    "cofre secrets set api-key openweather": RUN_HERE,
    "cofre secrets list": RUN_HERE,
    "COFRE_ALERT_WEBHOOK_URL='https://hooks.example.com/T0KEN' cofre automations install": (
        "tests/integration/test_deployments.py (--webhook-url, the same option)"
    ),
    "cofre automations install --block slack-webhook/ops": "tests/integration/test_alerts.py",
    "cofre automations list": "tests/integration/test_alerts.py",
    "cofre automations remove": "tests/integration/test_alerts.py (remove_automations)",
    "cofre keys rotate && cofre keys retire": RUN_HERE,
    "cofre audit verify": RUN_HERE,
    "python -m benchmarks.pipeline_benchmark": "tests/test_benchmarks.py (its measuring and summarising; the full run takes ~20 min and its figures are in docs/performance.md)",
    "python -m benchmarks.pipeline_benchmark --modes server temporary postgres": "tests/test_benchmarks.py::test_targets_table_compares_each_figure_with_its_target (the targets table; the full run's figures are in docs/performance.md)",
    "python -m benchmarks.warehouse_benchmark --gold data/lake/gold --repeats 5": "tests/test_benchmarks.py::test_warehouse_benchmark_runs_end_to_end (on a tiny gold; real-size figures in docs/performance.md)",
    "cofre config set prod --set olist_roots=/data/olist --set lake_url=s3://cofre-lake": "tests/integration/test_input_authority.py (the places fixture runs it through the CLI, then attacks the sealed roots and lake)",
    "export COFRE_CONFIG_BLOCK=prod": "tests/integration/test_input_authority.py (the places fixture sets it)",
    "export COFRE_OLIST_DIR=/data/olist": "tests/integration/test_input_authority.py::test_a_subdirectory_of_a_sealed_root_narrows_the_run_and_its_provenance_is_audited (a subdirectory of the root; the environment variable is tried by the parametrized redirect test)",
    "cp .env.example .env": "tests/test_compose.py (compose config with the example env file)",
    "docker compose up -d --build": "not runnable here: no Docker engine; tests/test_compose.py validates compose.yaml",
}  # fmt: skip


def documented_commands() -> list[str]:
    commands = []
    for doc in DOCS:
        for block in re.findall(r"```bash\n(.*?)```", (ROOT / doc).read_text(), re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if line and not line.startswith("#"):
                    commands.append(re.sub(r"\s+", " ", line))
    return commands


def test_every_documented_command_is_accounted_for():
    missing = [c for c in documented_commands() if c not in COVERED]
    assert missing == [], f"add these to COVERED with how they are exercised: {missing}"
    for how in set(COVERED.values()) - {RUN_HERE, CI}:
        path = how.split(" ")[0].split("::")[0]
        if path.startswith("tests/"):
            assert (ROOT / path).exists(), path
            if "::" in how.split(" ")[0]:
                assert how.split(" ")[0].split("::")[1] in (ROOT / path).read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in ci and "./dev run" in ci


def _sh(command: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**env, "PATH": f"{bin_dir}:{env['PATH']}"},
    )  # fmt: skip


def test_runbook_walkthrough(prefect_api, tmp_path, cofre_home):
    # The session's Prefect API holds other tests' blocks, encrypted under their own keyrings:
    # `cofre keys rotate` rightly refuses blocks it cannot decrypt, so start from a clean server.
    from tests.prefect_rest import delete_all_cofre_blocks

    delete_all_cofre_blocks()
    env = {**os.environ, "PREFECT_API_URL": prefect_api.url, "COFRE_HOME": str(cofre_home)}
    env.update(
        {
            "COFRE_SECRET_ACCESS_KEY_ID": "walkthrough-access",
            "COFRE_SECRET_SECRET_ACCESS_KEY": "walkthrough-secret",
            "COFRE_SECRET_API_KEY": "walkthrough-api-key",
        }
    )
    runnable = [c for c in documented_commands() if COVERED.get(c) == RUN_HERE]
    seen = set()
    for command in runnable:
        if command in seen:
            continue
        seen.add(command)
        concrete = command.replace("/tmp/olist", str(tmp_path / "olist"))
        concrete = concrete.replace(
            "COFRE_SECRET_ACCESS_KEY_ID=... COFRE_SECRET_SECRET_ACCESS_KEY=... ", ""
        )
        result = _sh(concrete, env, ROOT)
        assert result.returncode == 0, (
            f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    listed = _sh("cofre secrets list", env, ROOT).stdout
    assert "openweather" in listed and "minio" in listed
    assert "walkthrough-secret" not in listed
    assert len(list((tmp_path / "olist").glob("*.csv"))) == 9
    verified = _sh("cofre audit verify", env, ROOT)
    assert "verify" in verified.stdout


# -- drift between the docs and the code -------------------------------------------------------
def artifact_keys() -> dict[str, Path]:
    """Every artifact key the code creates (`create_*_artifact(key=...)`, a literal or a module
    constant), and the module that creates it."""
    keys = {}
    for path in [
        *ROOT.glob("flows/*.py"),
        *ROOT.glob("blocks/**/*.py"),
        *ROOT.glob("tasks/**/*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(tree):
            name = getattr(getattr(call, "func", None), "id", "")
            if not re.fullmatch(r"create_\w+_artifact", name):
                continue
            for keyword in call.keywords:
                if keyword.arg == "key":
                    value = keyword.value
                    key = value.value if isinstance(value, ast.Constant) else constants[value.id]
                    keys[key] = path.relative_to(ROOT)
    return keys


def _section(doc: str, title: str) -> str:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_runbook_names_every_artifact_and_the_run_that_holds_it():
    keys = artifact_keys()
    assert {"run-summary", "audit-head", "gold-row-counts"} <= set(keys)  # the scan finds them
    read_a_run = " ".join(_section("docs/operations.md", "Read a run").split())
    named = set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", read_a_run))
    assert named - set(keys) == set(), "artifact keys in the runbook that no code creates"
    for key, module in keys.items():
        assert f"`{key}`" in read_a_run, f"{key} ({module}) is not in 'Read a run'"
        stage = module.parts[1] if module.parts[0] == "tasks" else None
        if stage is not None:  # a stage task's artifact is on the stage's subflow run
            assert f"`{key}` on `{stage}`" in read_a_run, f"say {key} is on the {stage} subflow"


def test_the_architecture_lists_every_cli_module():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"flows/(cli_\w+)\.py", text))
    for group in re.findall(r"flows/cli_\{([\w,]+)\}\.py", text):
        listed |= {f"cli_{name}" for name in group.split(",")}
    modules = {path.stem for path in (ROOT / "flows").glob("cli_*.py")}
    assert modules - listed == set(), "add these to docs/architecture.md's CLI row"


def test_prefect_yaml_names_the_installed_prefect():
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert project["prefect-version"] == version("prefect")


def _pinned() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
    return {name.strip().lower(): pin.strip() for name, pin in pins}


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = map(Requirement, project["dependencies"])
    return {requirement.name.lower(): requirement for requirement in requirements}


def test_versions_named_in_the_docs_are_the_tested_ones():
    """ "Prefect 3.9" in a doc is the pinned Prefect; a version the docs name that is not
    pinned must be one pyproject.toml excludes (named as known-bad). Not docs/performance.md:
    its figures record the versions they were measured with."""
    pinned, declared = _pinned(), _declared()
    pattern = re.compile(
        r"\b(" + "|".join(map(re.escape, pinned)) + r") v?(\d+\.\d+(?:\.\d+)?)\b(?! ?s\b)", re.I
    )
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked = []
    for doc in docs:
        if doc.name == "performance.md":
            continue
        for name, named in pattern.findall(doc.read_text(encoding="utf-8")):
            pin = pinned[name.lower()]
            tested = pin == named or pin.startswith(named + ".")
            excluded = name.lower() in declared and not declared[name.lower()].specifier.contains(
                named + ".0" if named.count(".") == 1 else named, prereleases=True
            )
            assert tested or excluded, f"{doc.name} names {name} {named}; tested: {pin}"
            checked.append(name.lower())
    assert "prefect" in checked  # the pattern finds what it is for


def test_the_selective_deploy_names_real_deployments():
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    flows = {d["name"]: d["entrypoint"].rsplit(":", 1)[1] for d in project["deployments"]}
    commands = [
        c
        for c in documented_commands()
        if c.startswith(("prefect --no-prompt deploy --name", "prefect deployment schedule"))
    ]
    assert len(commands) == 3
    for command in commands:
        for name in re.findall(r"--name (\S+)", command):
            assert name in flows and name != "weather-snapshot-hourly"
        for flow_name, name in re.findall(r"schedule \w+ (\w+)/([\w-]+)", command):
            assert flows[name] == flow_name and name == "weather-snapshot-hourly"
