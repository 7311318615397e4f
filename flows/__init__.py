"""Cofre's Prefect flows and its command line (`cofre` = `flows.cli:app`).

Every entry point (`cofre`, `python -m flows.*`) imports this package first, before any of
its modules imports Prefect, which reads its settings once, at its first import: this is
where Cofre's Prefect home and the temporary API's start-up timeout are set.
"""

from blocks.runtime.prefect_home import use_cofre_prefect_home

use_cofre_prefect_home()
