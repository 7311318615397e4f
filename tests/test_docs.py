"""The README and the runbook tell the truth: every command in them is run here or by a test.

`test_every_documented_command_is_accounted_for` fails when a command is added to the docs
without saying how it is exercised; `test_runbook_walkthrough` runs the cheap ones for real,
in order, in a fresh COFRE_HOME against the session's Prefect API.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
    "prefect work-pool create cofre-local --type process --base-job-template deploy/cofre-local-pool.json --overwrite": "tests/integration/test_deployments.py, tests/integration/test_run_overrides.py (the locked pool)",
    "prefect --no-prompt deploy --all": "tests/integration/test_deployments.py",
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
