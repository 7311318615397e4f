"""One warehouse connection pool per server process, shared by every browser session.

`panel serve` runs `app.py` afresh for each session; this module is imported once, so the
engine (and, for PostgreSQL, the decrypted credentials block) is set up once per process.
"""

from __future__ import annotations

import threading

from blocks.settings import CofreSettings, load_settings
from tasks.warehouse.connection import Warehouse, connect_warehouse

_lock = threading.Lock()
_warehouses: dict[tuple, Warehouse] = {}


def shared_warehouse(settings: CofreSettings | None = None) -> Warehouse:
    """The configured warehouse (PostgreSQL block/URL or `$COFRE_HOME/warehouse.db`), cached.

    Raises ConfigurationError (from `connect_warehouse`) for a password in the URL or a
    missing credentials block.
    """
    settings = settings or load_settings()
    key = (str(settings.home.resolve()), settings.warehouse_url, settings.warehouse_block)
    with _lock:
        if key not in _warehouses:
            _warehouses[key] = connect_warehouse(settings)
        return _warehouses[key]
