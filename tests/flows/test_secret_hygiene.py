"""A flow that reads a marker secret and logs around it leaks it nowhere."""

from __future__ import annotations

import logging
import uuid

from prefect import flow, get_run_logger

from blocks.lake import Lake
from blocks.secrets.credentials import ApiKey
from blocks.secrets.keyring import ensure_keyring
from tasks.bronze import land_bronze
from tests.conftest import files_containing, flush_prefect_logs

MARKER = "HYGIENE-marker-5b1e0c"


@flow(log_prints=True)
def careless_flow(block_name: str, lake_url: str) -> str:
    logger = get_run_logger()
    key = ApiKey.require(block_name).reveal("api_key")
    logger.info("calling the API with key %s", key)
    logger.info("GET https://api.example/weather?id=1&appid=%s&units=metric", key)
    logging.getLogger("some.library").warning("retrying with password=%s", key)
    print(f"printed the key: {key}")
    try:
        raise RuntimeError(f"request failed for key {key}")
    except RuntimeError:
        logger.exception("the call failed")
    land_bronze(
        Lake.from_url(lake_url),
        source="t",
        dataset="d",
        filename="f.json",
        run_id="r",
        data=b'{"temperature": 21.5}',
    )
    return "done"


def test_marker_secret_appears_nowhere(prefect_api, cofre_home, capsys, caplog):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    ensure_keyring()
    name = f"hygiene-{uuid.uuid4().hex[:6]}"
    ApiKey.encrypt(name=name, api_key=MARKER).save(name, overwrite=True)
    state = careless_flow(name, str(cofre_home / "lake"), return_state=True)
    assert state.is_completed()
    flush_prefect_logs()

    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(
                flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    messages = "\n".join(log.message for log in logs)
    assert "calling the API with key ***" in messages  # the logs did reach the server
    assert "appid=***" in messages
    assert MARKER not in messages
    captured = capsys.readouterr()
    assert MARKER not in captured.out + captured.err + caplog.text
    assert files_containing(prefect_api.database_dir, MARKER) == []
    assert (cofre_home / "lake" / "bronze").exists()
    assert (cofre_home / "audit").exists()
    assert files_containing(cofre_home, MARKER) == []
