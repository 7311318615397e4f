#!/usr/bin/env bash
# One-shot setup inside the compose stack: block types, encrypted credentials, pool, deployments.
set -euo pipefail
prefect block register -m blocks
cofre secrets set s3 minio --set endpoint_url=http://minio:9000
cofre secrets set postgres warehouse --set host=postgres --set user="${POSTGRES_USER:-cofre}" \
  --set database="${POSTGRES_DB:-cofre}" --set sslmode=disable
# The locked pool: a run cannot bring its own command or env (docs/security.md, 'Threat model').
prefect work-pool create cofre-local --type process \
  --base-job-template deploy/cofre-local-pool.json --overwrite
PWD=/opt/cofre prefect --no-prompt deploy --all
