"""Sealed authority over where data comes from: the Olist input roots and the lake.

The issue's attack: a flow run with `olist_dir` pointing at a copy of the CSVs with prices x5
completed and published them. With the `CofreConfig` block sealing `olist_roots` and
`lake_url`, a parameter, `COFRE_OLIST_DIR` or `./.env` naming another directory (symlinks and
`..` resolved) or another lake stops the run before any input is read, naming the setting and
the block, with a SECURITY_INCIDENT. A subdirectory of a sealed root narrows the run. Real
Prefect API and blocks; the runs' provenance is read back from the audit trail.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blocks import audit
from blocks.errors import ConfigurationError
from blocks.lake import Lake
from blocks.secrets.keyring import ensure_keyring
from blocks.secrets.sealed_authority import RedirectRefused
from blocks.settings import EnvOnlySettings, load_settings
from flows.config_commands import parse_assignments
from tasks.sources.olist.contract import OLIST_FILES
from tasks.sources.olist.synthetic import generate_olist
from tests.prefect_rest import cofre_ok, delete_all_cofre_blocks, delete_cofre_configs

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "cofre-config/prod"
ITEMS = "olist_order_items_dataset.csv"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("olist-generated")
    generate_olist(directory, orders=60, seed=5)
    return directory


@pytest.fixture
def places(prefect_api, generated, tmp_path, monkeypatch):
    """A sealed root holding the real set (in `real/sub`), a copy with prices x5 outside it,
    and `cofre-config/prod` sealing the root and the lake."""
    delete_all_cofre_blocks()
    delete_cofre_configs(prefect_api.url)
    ensure_keyring()
    root, evil = tmp_path / "sealed-root", tmp_path / "elsewhere" / "olist"
    for directory in (root / "sub", evil):
        shutil.copytree(generated, directory)
    _prices_times_five(evil / ITEMS)
    lake = Path(os.environ["COFRE_HOME"]) / "lake"
    cofre_ok("config", "set", "prod", "--set", f"olist_roots={root}", "--set", f"lake_url={lake}")
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "prod")
    yield {"root": root, "evil": evil, "lake": lake, "api": prefect_api}
    delete_all_cofre_blocks()
    delete_cofre_configs(prefect_api.url)


def _prices_times_five(path: Path) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    price = rows[0].index("price")
    for row in rows[1:]:
        row[price] = f"{float(row[price]) * 5:.2f}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _records(action: str) -> list[dict]:
    settings = EnvOnlySettings()
    if not (settings.resolved_audit_dir / "audit.jsonl").exists():
        return []
    return [r for r in audit.read_records(settings) if r["action"] == action]


def _ingest(**parameters):
    from flows.ingestion import ingestion

    return ingestion(sources="snapshot", only=["olist"], **parameters)


def _assert_refused_before_reading(error: Exception | None, *names: str) -> None:
    assert isinstance(error, RedirectRefused), repr(error)
    message = str(error)
    assert "\n" not in message and "SECURITY_INCIDENT" in message
    for name in names:
        assert name in message, message
    [incident] = [r for r in _records("SECURITY_INCIDENT") if r["target"] == CONFIG]
    assert incident["details"]["check"] == "redirect" and incident["outcome"] == "failure"
    bronze = Path(os.environ["COFRE_HOME"]) / "lake" / "bronze"
    assert not bronze.exists()  # nothing landed
    assert _records("INPUT_PROVENANCE") == [] and _records("SECRET_READ") == []


def _attempt(action) -> Exception | None:
    try:
        action()
    except Exception as exc:  # the test inspects whatever came out
        return exc
    return None


@pytest.mark.parametrize("where", ["parameter", "environment", ".env"])
def test_an_olist_dir_outside_the_sealed_roots_is_refused_before_anything_is_read(
    places, monkeypatch, tmp_path, where
):
    """The issue's attack (prices x5 in a directory the operator never sealed)."""
    evil = str(places["evil"])
    if where == "parameter":
        error = _attempt(lambda: _ingest(olist_dir=evil))
        setting = "--olist-dir / the olist_dir parameter"
    else:
        if where == "environment":
            monkeypatch.setenv("COFRE_OLIST_DIR", evil)
        else:
            monkeypatch.chdir(tmp_path)
            (tmp_path / ".env").write_text(f"COFRE_OLIST_DIR={evil}\n")
        error = _attempt(_ingest)
        setting = f"COFRE_OLIST_DIR ({where if where == 'environment' else './.env'})"
    _assert_refused_before_reading(error, setting, CONFIG, evil, str(places["root"]))


@pytest.mark.parametrize("trick", ["dotdot", "symlinked directory", "symlinked file"])
def test_symlinks_and_dotdot_cannot_leave_a_sealed_root(places, trick):
    root, evil = places["root"], places["evil"]
    if trick == "dotdot":
        asked = root / ".." / "elsewhere" / "olist"
    elif trick == "symlinked directory":
        asked = root / "link"
        asked.symlink_to(evil, target_is_directory=True)
    else:  # a directory inside the root whose items file points outside it
        asked = root / "mixed"
        asked.mkdir()
        for name in OLIST_FILES:
            (asked / name).symlink_to((evil if name == ITEMS else root / "sub") / name)
    error = _attempt(lambda: _ingest(olist_dir=str(asked)))
    outside = evil / ITEMS if trick == "symlinked file" else evil
    _assert_refused_before_reading(error, "olist_dir", CONFIG, str(outside.resolve()))


def test_a_synthetic_run_is_refused_when_roots_are_sealed(places):
    error = _attempt(lambda: _ingest(synthetic_orders=50))
    _assert_refused_before_reading(error, "synthetic_orders", CONFIG, "synthetic")


def test_a_subdirectory_of_a_sealed_root_narrows_the_run_and_its_provenance_is_audited(places):
    sub = places["root"] / "sub"
    result = _ingest(olist_dir=str(places["root"] / "x" / ".." / "sub"))
    provenance = result["report"]["run_facts"]["provenance"]
    [record] = _records("INPUT_PROVENANCE")
    assert {k: v for k, v in record["details"].items() if k != "run_id"} == provenance
    assert provenance["olist"] == {"dir": str(sub.resolve())}
    assert provenance["files"] == {
        name: hashlib.sha256((sub / name).read_bytes()).hexdigest() for name in OLIST_FILES
    }
    assert provenance["sources"] == {"ipca": "skipped", "open_meteo": "skipped",
                                     "openweather": "skipped"}  # fmt: skip
    assert provenance["requested_by"].endswith("(command line)")
    assert provenance["declared"] is True and provenance["undeclared"] == []
    assert _records("SECURITY_INCIDENT") == []


def test_a_lake_parameter_cannot_move_a_sealed_lake(places, tmp_path):
    other = tmp_path / "stolen-lake"
    error = _attempt(lambda: _ingest(olist_dir=str(places["root"] / "sub"), lake=str(other)))
    _assert_refused_before_reading(error, "--lake / the lake parameter", CONFIG, str(other))
    assert not other.exists()
    # The sealed lake, written another way (a trailing slash, file://), is the same lake.
    for same in (f"{places['lake']}/", f"file://{places['lake']}"):
        Lake.from_settings(load_settings(lake_url=same))


def test_the_cli_stops_with_one_line_before_reading(places):
    env = {**os.environ, "PREFECT_API_URL": places["api"].url}
    run = subprocess.run(
        [sys.executable, "-m", "flows.full_pipeline", "--olist-dir", str(places["evil"]),
         "--sources", "snapshot"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    stops = [line for line in run.stderr.splitlines() if line.startswith("Cofre stopped:")]
    assert len(stops) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    for text in ("RedirectRefused", "--olist-dir", CONFIG):
        assert text in stops[0], stops[0]
    assert not (places["lake"] / "bronze").exists()


def test_olist_roots_must_be_absolute_directories():
    assert parse_assignments(["olist_roots=/data/olist,/mnt/x/../olist"]) == {
        "olist_roots": ["/data/olist", "/mnt/olist"]
    }
    assert parse_assignments(['olist_roots=["/a"]']) == {"olist_roots": ["/a"]}
    with pytest.raises(ConfigurationError, match="'data/olist' is not an absolute path"):
        parse_assignments(["olist_roots=data/olist"])
