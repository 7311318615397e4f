"""Bundled payloads served by `--sources snapshot` (and by `auto` when offline).

Every file is in its source's own wire format, so snapshot mode runs the same parsers as live:

- `bcb_sgs_433.json`: REAL IPCA monthly % change, Jan 2016 – Dec 2018, exactly as the BCB SGS
  API returns it (`[{"data": "dd/mm/yyyy", "valor": "x.xx"}]`).
- `open_meteo_<UF>.json` (27 state capitals, 2016-09-01..2018-10-31) and
  `openweather_<city id>.json` (5 cities): a SYNTHETIC weather sample, labelled as such inside
  each payload (`"_cofre_synthetic"`) and in every bronze manifest (`extra.synthetic`).
  Deterministic: `python -m tasks.sources.snapshots.generate` rewrites them byte for byte.
- `state_capitals.csv`: the 27 capitals, their coordinates and OpenWeather ids (reference).
"""

from __future__ import annotations

from importlib import resources

SYNTHETIC_LABEL_KEY = "_cofre_synthetic"


def snapshot_bytes(name: str) -> bytes | None:
    """The bundled file `name`, or None when no such snapshot is bundled."""
    resource = resources.files(__name__).joinpath(name)
    return resource.read_bytes() if resource.is_file() else None
