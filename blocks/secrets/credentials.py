"""The credential blocks: the Prefect server only ever stores Fernet ciphertext.

Each block is an `EncryptedBlock` (blocks/secrets/encrypted_block.py). Client objects (prefect-aws,
prefect-sqlalchemy, s3fs options, psycopg connections) are built at run time from the
decrypted values and never saved.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from blocks.runtime.redaction import MASK
from blocks.secrets.encrypted_block import EncryptedBlock

# botocore would take an endpoint from AWS_ENDPOINT_URL(_S3) or ~/.aws/config when the block
# seals AWS's default one (no endpoint_url): the block's clients ignore those, so its keys go
# only where it is sealed for (blocks/secrets/sealed_authority.py refuses such a variable, audited).
SEALED_ENDPOINT_ONLY = {"ignore_configured_endpoint_urls": True}


class S3Credentials(EncryptedBlock):
    """S3 or MinIO credentials; secrets are Fernet ciphertext decrypted only in the worker."""

    _block_type_name = "Cofre S3 Credentials"
    _block_type_slug = "cofre-s3-credentials"
    _secret_fields = ("access_key_id", "secret_access_key")
    _kind = "s3"

    endpoint_url: str | None = Field(None, description="S3 API endpoint; empty for AWS.")
    access_key_id: str = Field(..., description="Fernet ciphertext of the access key id.")
    secret_access_key: str = Field(..., description="Fernet ciphertext of the secret key.")
    region: str | None = Field(None, description="AWS region, e.g. sa-east-1.")
    sse_mode: Literal["AES256", "aws:kms", "none"] = Field(
        "AES256", description="Server-side encryption requested on every write."
    )

    def s3fs_options(self) -> dict[str, Any]:
        """Keyword arguments for `s3fs.S3FileSystem` (built at run time, never saved)."""
        client_kwargs: dict[str, Any] = {}
        if self.endpoint_url:
            client_kwargs["endpoint_url"] = self.endpoint_url
        elif self.region:
            client_kwargs["region_name"] = self.region  # MinIO/moto reject a region here
        options: dict[str, Any] = {
            "key": self.reveal("access_key_id"),
            "secret": self.reveal("secret_access_key"),
            "client_kwargs": client_kwargs,
            "config_kwargs": dict(SEALED_ENDPOINT_ONLY),
        }
        if self.sse_mode != "none":
            options["s3_additional_kwargs"] = {"ServerSideEncryption": self.sse_mode}
        return options

    def minio_credentials(self):
        """prefect-aws `MinIOCredentials` (unsaved) for this MinIO endpoint."""
        from prefect_aws import MinIOCredentials

        access_key_id, secret_access_key, common = self._prefect_aws_values()
        return MinIOCredentials(
            minio_root_user=access_key_id, minio_root_password=secret_access_key, **common
        )

    def aws_credentials(self):
        """prefect-aws `AwsCredentials` (unsaved)."""
        from prefect_aws import AwsCredentials

        access_key_id, secret_access_key, common = self._prefect_aws_values()
        return AwsCredentials(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, **common
        )

    def _prefect_aws_values(self) -> tuple[str, str, dict[str, Any]]:
        """(access key id, secret key, the keyword arguments both prefect-aws blocks take)."""
        from prefect_aws.client_parameters import AwsClientParameters

        common = {
            "region_name": self.region,
            "aws_client_parameters": AwsClientParameters(
                endpoint_url=self.endpoint_url, config=dict(SEALED_ENDPOINT_ONLY)
            ),
        }
        return self.reveal("access_key_id"), self.reveal("secret_access_key"), common


class PostgresCredentials(EncryptedBlock):
    """PostgreSQL credentials for the warehouse; the password is Fernet ciphertext."""

    _block_type_name = "Cofre PostgreSQL Credentials"
    _block_type_slug = "cofre-postgres-credentials"
    _secret_fields = ("password",)
    _kind = "postgres"

    host: str = Field("localhost", description="Server host name.")
    port: int = Field(5432, description="Server port.")
    database: str = Field("cofre", description="Database name.")
    user: str = Field("cofre", description="Role to connect as.")
    password: str = Field(..., description="Fernet ciphertext of the password.")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        "prefer", description="libpq sslmode."
    )

    def safe_url(self) -> str:
        """A SQLAlchemy URL with the password masked (for logs and messages)."""
        return f"postgresql+psycopg://{self.user}:{MASK}@{self.host}:{self.port}/{self.database}"

    def refuse_rerouting(self) -> None:
        """Refuse (audited) before decrypting when PGHOSTADDR or PGSERVICE in the environment
        would make libpq send this block's password elsewhere than its sealed host."""
        from blocks.secrets.sealed_authority import refuse_libpq_rerouting

        refuse_libpq_rerouting(None, self.label, f"{self.host}:{self.port}/{self.database}")

    def psycopg_connect(self, **kwargs: Any):
        """An open psycopg 3 connection (to the sealed host only: `refuse_rerouting`)."""
        import psycopg

        self.refuse_rerouting()
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.database,
            user=self.user,
            password=self.reveal("password"),
            sslmode=self.sslmode,
            **kwargs,
        )

    def sqlalchemy_connector(self):
        """prefect-sqlalchemy `SqlAlchemyConnector` (unsaved) using psycopg 3, to the sealed
        host only (`refuse_rerouting`)."""
        from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector

        self.refuse_rerouting()
        return SqlAlchemyConnector(
            connection_info=ConnectionComponents(
                driver="postgresql+psycopg",
                host=self.host,
                port=self.port,
                database=self.database,
                username=self.user,
                password=self.reveal("password"),
                query={"sslmode": self.sslmode},
            )
        )


class ApiKey(EncryptedBlock):
    """An API key for an external source (OpenWeather)."""

    _block_type_name = "Cofre API Key"
    _block_type_slug = "cofre-api-key"
    _secret_fields = ("api_key",)
    _kind = "api-key"

    service: str = Field("openweather", description="Which API the key is for.")
    api_key: str = Field(..., description="Fernet ciphertext of the key.")


class MaskingKey(EncryptedBlock):
    """The HMAC key used to pseudonymise personal data before silver."""

    _block_type_name = "Cofre Masking Key"
    _block_type_slug = "cofre-masking-key"
    _secret_fields = ("key",)
    _kind = "masking-key"

    key: str = Field(..., description="Fernet ciphertext of the HMAC key.")


COFRE_BLOCKS: dict[str, type[EncryptedBlock]] = {
    cls._kind: cls for cls in (S3Credentials, PostgresCredentials, ApiKey, MaskingKey)
}
