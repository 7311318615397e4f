"""Cofre's Panel dashboard (`panel serve panel_dashboard/app.py`).

The app imports this package before anything imports Prefect (which reads its settings once, at
its first import): Cofre's Prefect home is set here, so the dashboard reads the saved config
block from the same Prefect database as `./dev run` and `cofre`.
"""

from blocks.runtime.prefect_home import use_cofre_prefect_home

use_cofre_prefect_home()
