"""Cofre's security core and connection blocks.

`prefect block register -m blocks` registers every block class exported here.
"""

from blocks.config import CofreConfig
from blocks.credentials import ApiKey, MaskingKey, PostgresCredentials, S3Credentials

__all__ = ["ApiKey", "CofreConfig", "MaskingKey", "PostgresCredentials", "S3Credentials"]
