"""Fake SGS, OpenWeather and Open-Meteo servers for the live clients (pytest-httpserver on
127.0.0.1), speaking each API's real format, plus helpers shared by the source tests."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import pytest
from werkzeug import Request, Response

from tests.conftest import free_port


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1 (not "localhost", which may resolve to ::1 first)."""
    return ("127.0.0.1", 0)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused, i.e. unreachable."""
    return f"http://127.0.0.1:{free_port()}/api"


@contextmanager
def blackholed_url() -> Iterator[str]:
    """A URL whose TCP connect never completes (a listener with a full accept queue, SYNs
    dropped): a connect timeout, without leaving 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}/api"
    for sock in [*fillers, listener]:
        sock.close()


def month_range(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


@dataclass
class FakeSgs:
    """SGS series 433: filters by dataInicial/dataFinal and refuses windows over 10 years
    with a 406, like the real API does for long queries."""

    values: dict[date, str] = field(default_factory=dict)
    windows: list[tuple[date, date]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        start = datetime.strptime(request.args["dataInicial"], "%d/%m/%Y").date()
        end = datetime.strptime(request.args["dataFinal"], "%d/%m/%Y").date()
        assert request.args["formato"] == "json"
        self.windows.append((start, end))
        if end >= start.replace(year=start.year + 10):
            body = {"error": "O sistema aceita uma janela de consulta de, no máximo, 10 anos"}
            return Response(json.dumps(body), status=406, content_type="application/json")
        records = [
            {"data": month.strftime("%d/%m/%Y"), "valor": value}
            for month, value in sorted(self.values.items())
            if start <= month <= end
        ]
        return Response(json.dumps(records), content_type="application/json")


def sgs_values(first: date, last: date) -> dict[date, str]:
    """Plausible monthly values (0.10 .. 0.89 %) for every month in [first, last]."""
    return {
        m: f"{0.1 + (m.year * 7 + m.month * 13) % 80 / 100:.2f}" for m in month_range(first, last)
    }


@dataclass
class FakeOpenWeather:
    """Current weather: a fresh observation time on every call, 401 for a wrong key."""

    key: str
    temperature: float = 24.5
    humidity: float | None = 70
    calls: int = 0
    seen: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        self.seen.append(dict(request.args))
        if request.args.get("appid") != self.key:
            body = {
                "cod": 401,
                "message": "Invalid API key. Please see the FAQ (error 401).",
            }
            return Response(json.dumps(body), status=401, content_type="application/json")
        city_id = int(request.args["id"])
        body = {
            "coord": {"lon": -46.63, "lat": -23.55},
            "weather": [{"id": 803, "main": "Clouds", "description": "nublado", "icon": "04d"}],
            "main": {"temp": self.temperature, "pressure": 1015, "humidity": self.humidity},
            "wind": {"speed": 3.1, "deg": 120},
            "dt": 1_700_000_000 + 600 * self.calls,
            "id": city_id,
            "name": f"Cidade {city_id}",
            "cod": 200,
        }
        return Response(json.dumps(body), content_type="application/json")


@dataclass
class FakeOpenMeteo:
    """The archive API: a deterministic daily series for any coordinates and range."""

    calls: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        args = dict(request.args)
        self.calls.append(args)
        start, end = date.fromisoformat(args["start_date"]), date.fromisoformat(args["end_date"])
        days = [date.fromordinal(o) for o in range(start.toordinal(), end.toordinal() + 1)]
        latitude = float(args["latitude"])
        daily = {
            "time": [d.isoformat() for d in days],
            "temperature_2m_max": [round(30 + latitude / 10 + d.day / 10, 1) for d in days],
            "temperature_2m_min": [round(20 + latitude / 10, 1) for d in days],
            "temperature_2m_mean": [round(25 + latitude / 10, 1) for d in days],
            "precipitation_sum": [float(d.day % 4) for d in days],
        }
        body = {
            "latitude": latitude,
            "longitude": float(args["longitude"]),
            "timezone": args["timezone"],
            "daily_units": {"time": "iso8601", "temperature_2m_max": "°C"},
            "daily": daily,
        }
        return Response(json.dumps(body), content_type="application/json")
