"""`cofre ui`: the Prefect UI over the runs made on this machine's Cofre home.

`prefect server start` on the Prefect home every entry point uses without a server
(`$COFRE_HOME/prefect`, set by `flows/__init__.py`), in the foreground: Ctrl-C stops it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from types import FrameType

import typer

from blocks.errors import ConfigurationError
from blocks.runtime.prefect_home import UI_HOST, UI_PORT, server_configured, ui_url


def ui_command(
    port: int = typer.Option(UI_PORT, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
) -> None:
    """Start a Prefect server with its UI on Cofre's Prefect home; Ctrl-C stops it."""
    if server_configured():
        from prefect.settings import PREFECT_UI_URL

        typer.echo(
            f"A Prefect server is configured (PREFECT_API_URL): its UI, {PREFECT_UI_URL.value()}, "
            "shows Cofre's runs. `cofre ui` serves the runs made without a server."
        )
        return
    _refuse_busy_port(port)
    home = os.environ.get("PREFECT_HOME", "~/.prefect")
    typer.echo(f"Prefect UI: {ui_url(port)}  (Prefect home {home}; Ctrl-C stops it)")
    command = [sys.executable, "-m", "prefect", "server", "start"]
    raise typer.Exit(_serve([*command, "--host", UI_HOST, "--port", str(port)]))


def _refuse_busy_port(port: int) -> None:
    with socket.socket() as probe:
        # As Prefect checks: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((UI_HOST, port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on {UI_HOST} is in use (a Prefect UI may already be running: "
                f"open {ui_url(port)}); choose another with --port."
            ) from None


def _serve(command: list[str]) -> int:
    """Run the server in the foreground; its exit code (0 after Ctrl-C or SIGTERM)."""
    server = subprocess.Popen(command)
    stopped: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:  # `kill <pid>` stops the server too
        stopped.append(signum)
        server.terminate()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        try:
            code = server.wait()
            # uvicorn re-raises the signal it stopped on: a requested stop is a clean end.
            return 0 if stopped else code
        except KeyboardInterrupt:  # the terminal sent Ctrl-C to the server as well
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                server.kill()
                server.wait()
            return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
