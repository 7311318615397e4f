"""The OpenWeather current-weather API (keyed): a live client, its snapshot twin, and the key.

`GET <openweather_base_url>?id=<city id>&appid=<key>&units=metric&lang=pt_br` for each city
of `settings.openweather_city_ids` (default the seed's five) answers one JSON object:
`name`, `dt` (unix time of the observation), `main.temp` (°C), `main.humidity` (%),
`main.pressure` (hPa), `wind.speed` (m/s) and `weather[0].description` (Portuguese). A bad
key is a 401. The key comes from the encrypted API-key block (`cofre secrets set api-key
openweather`) and never appears in a URL that is logged, stored or raised: it is masked as
`appid=***`.

The snapshot twin serves the bundled SYNTHETIC sample
(`tasks/sources/snapshots/openweather_<city id>.json`). `openweather_session` picks the client
a run uses (`--sources live | snapshot | auto`; without a key, auto serves the sample).
"""

from __future__ import annotations

from typing import Protocol

from blocks.errors import SecretNotFound
from blocks.settings import CofreSettings
from tasks.sources.external import LiveClient, SnapshotClient, SourceSession
from tasks.sources.http import HttpGetter, HttpPolicy
from tasks.sources.openweather.parse import SOURCE_NAME
from tasks.sources.snapshots import snapshot_bytes


class OpenWeatherClient(Protocol):
    """Current weather of one city; None when the client has nothing for it."""

    mode: str

    def current(self, city_id: int) -> bytes | None: ...

    def close(self) -> None: ...


class LiveOpenWeatherClient(LiveClient):
    """The OpenWeather API over HTTP; the key is sent, never shown (`appid=***`)."""

    def __init__(self, base_url: str, api_key: str, http: HttpGetter) -> None:
        super().__init__(base_url, http)
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"LiveOpenWeatherClient({self.base_url!r}, appid=***)"

    def current(self, city_id: int) -> bytes:
        params = {"id": city_id, "appid": self._api_key, "units": "metric", "lang": "pt_br"}
        return self.http.get(self.base_url, params).content


class SnapshotOpenWeatherClient(SnapshotClient):
    """The bundled SYNTHETIC sample (`tasks/sources/snapshots/openweather_<city id>.json`)."""

    def current(self, city_id: int) -> bytes | None:
        return snapshot_bytes(f"openweather_{city_id}.json")


def resolve_api_key(settings: CofreSettings) -> tuple[str | None, str | None]:
    """(key, None) from the encrypted API-key block, or (None, why there is none).

    Decrypting is audited (SECRET_READ) and registers the key for log redaction.
    """
    name = settings.openweather_api_key_block
    if not name:
        return None, "no OpenWeather API-key block is configured (COFRE_OPENWEATHER_API_KEY_BLOCK)"
    from blocks.secrets.credentials import (
        ApiKey,  # imports Prefect blocks only when a key is needed
    )

    try:
        return ApiKey.require(name).reveal("api_key"), None
    except SecretNotFound:
        return None, (
            f"no API-key block named {name!r} is saved; create it with "
            f"`cofre secrets set api-key {name}`"
        )


def openweather_session(
    settings: CofreSettings, mode: str | None = None, *, api_key: str | None = None
) -> SourceSession[OpenWeatherClient]:
    """The client serving this run: `mode` (default `settings.sources`) live, snapshot, or
    auto (live, the sample when the network is unreachable or there is no key).

    `api_key` overrides the key block (tests); the block is read only when a live client may
    be needed. Raises `ConfigurationError` for `live` without a key.
    """
    mode = mode or settings.sources
    why_not = None
    if api_key is None and mode != "snapshot":
        api_key, why_not = resolve_api_key(settings)
    policy = HttpPolicy.from_settings(settings)

    def live() -> LiveOpenWeatherClient:
        http = HttpGetter(SOURCE_NAME, policy)
        return LiveOpenWeatherClient(settings.openweather_base_url, str(api_key), http)

    return SourceSession[OpenWeatherClient](
        SOURCE_NAME,
        mode,
        live=live if api_key else None,
        snapshot=SnapshotOpenWeatherClient,
        unavailable_reason=why_not,
    )
