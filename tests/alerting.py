"""For alert tests: a real webhook endpoint (an HTTP server on 127.0.0.1 recording every POST)
and the events a Prefect server stored, read back through its events API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def stored_events(api: str, name: str, wanted: Callable[[dict], bool], timeout: float = 60):
    """The server's stored events called `name`, once one `wanted` accepts is among them (the
    server persists events in batches, a few seconds apart)."""
    from tests.prefect_rest import api_call

    deadline = time.monotonic() + timeout
    while True:
        response = api_call(
            "post", f"{api}/events/filter", json={"filter": {"event": {"name": [name]}}}
        )
        response.raise_for_status()
        found = response.json()["events"]
        if any(wanted(event) for event in found) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert any(wanted(e) for e in found), f"no wanted {name} event in {timeout} s: {found}"
    return found


class WebhookReceiver:
    """Records each request as {"path", "json"}; answers 204. `with` closes it."""

    def __init__(self) -> None:
        received: list[dict] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed = json.loads(body or b"null")
                except ValueError:
                    parsed = {"raw": body.decode(errors="replace")}
                received.append({"path": self.path, "json": parsed})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def wait_for(self, wanted: Callable[[dict], bool], timeout: float = 60) -> dict:
        """The first request `wanted` accepts; fails listing what came instead."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for request in list(self.received):
                if wanted(request):
                    return request
            time.sleep(0.25)
        raise AssertionError(f"no wanted notification in {timeout} s; received {self.received}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def automations_notifying(api: str, path: str, block_name: str) -> Iterator[WebhookReceiver]:
    """Every Cofre automation installed on the API at `api`, notifying a local webhook at
    `path` through a webhook block called `block_name`; all removed afterwards."""
    from blocks.runtime import alerts
    from tests.prefect_rest import api_call

    with WebhookReceiver() as receiver:
        block_id = alerts.save_webhook_block(receiver.url(path), block_name)
        alerts.install_automations(block_id)
        try:
            yield receiver
        finally:
            alerts.remove_automations()
            api_call("delete", f"{api}/block_documents/{block_id}")
