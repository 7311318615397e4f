"""`CofreConfig`: non-secret settings saved as a Prefect block (below env, above defaults)."""

from __future__ import annotations

from prefect.blocks.core import Block


class CofreConfig(Block):
    """Shared, non-secret Cofre settings that a team saves once in the Prefect server.

    Select it with `COFRE_CONFIG_BLOCK=<name>`. Secrets never go here: they live in the
    encrypted credentials blocks, which this block only names.
    """

    _block_type_name = "Cofre Config"
    _block_type_slug = "cofre-config"

    lake_url: str | None = None
    lake_buckets: dict[str, str] | None = None
    s3_endpoint_url: str | None = None
    s3_credentials_block: str | None = None
    s3_sse: str | None = None
    warehouse_url: str | None = None
    sources: str | None = None
