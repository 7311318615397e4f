"""What a writer of the Prefect API can do with plain REST calls (no Cofre key), for tests."""

from __future__ import annotations

import time

import httpx


def api_call(method: str, url: str, **kwargs) -> httpx.Response:
    """One REST call; a busy test server answers 503 (SQLite locked), so try again."""
    for _ in range(10):
        response = httpx.request(method, url, timeout=30, **kwargs)
        if response.status_code != 503:
            return response
        time.sleep(1)
    return response


def block_document(api: str, slug: str, name: str) -> dict:
    response = api_call("get", f"{api}/block_types/slug/{slug}/block_documents/name/{name}")
    response.raise_for_status()
    return response.json()


def patch_block(api: str, slug: str, name: str, data: dict, merge: bool = True) -> None:
    """Edit a saved block document's fields, as an attacker with API write access can."""
    response = api_call(
        "patch",
        f"{api}/block_documents/{block_document(api, slug, name)['id']}",
        json={"data": data, "merge_existing_data": merge},
    )
    assert response.status_code == 204, response.text


def delete_all_cofre_blocks() -> None:
    """Start from a server without Cofre credential blocks (other tests' keyrings made them)."""
    from prefect.client.orchestration import get_client

    from blocks.secrets.rotation import saved_documents

    with get_client(sync_client=True) as client:
        for _, doc in saved_documents():
            client.delete_block_document(doc.id)


def delete_cofre_configs(url: str) -> None:
    """Delete every CofreConfig block document on the API at `url` (none is fine)."""
    response = api_call("get", f"{url}/block_types/slug/cofre-config/block_documents")
    if response.status_code == 404:
        return
    for document in response.json():
        api_call("delete", f"{url}/block_documents/{document['id']}").raise_for_status()


def cofre_ok(*args: str) -> None:
    """Run `cofre <args>` in process; it must succeed."""
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
