"""The lake's layers as the stages meet them: what one stage wrote, read back by the next.

Stages meet only through the lake and the catalog (validation/catalog.py: the layers and
keys). The readers of a layer live here, beside no stage, so a stage package never imports
another: `silver.py` (silver datasets and their manifests: what gold reads), `gold.py` (the
current gold version, every part verified: what the warehouse reads). Bronze's keys and
manifests are `tasks/bronze.py`. These stand on `blocks` (the `Lake`, the audit trail) and the
catalog; validation/ stays the contracts and gates, with no lake I/O.
"""
