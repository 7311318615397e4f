"""The parameter guard: secrets are refused by shape, named by parameter, never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from blocks.errors import ConfigurationError
from blocks.runtime.parameter_guard import refuse_password_in_url, refuse_secret_parameters
from blocks.runtime.redaction import register_secret

SECRET = "Zq8-guard-secret-31"
FERNET_KEY = Fernet.generate_key().decode()

REFUSED = {
    "warehouse URL with a password": f"postgresql://cofre:{SECRET}@db:5432/cofre",
    "SQLAlchemy URL with a password": f"postgresql+psycopg://cofre:{SECRET}@db/cofre",
    "libpq password in the query": f"postgresql://db/cofre?password={SECRET}",
    "S3 URL with key and secret": f"s3://AKIDEXAMPLE:{SECRET}@bucket/prefix",
    "Fernet token": Fernet(FERNET_KEY).encrypt(SECRET.encode()).decode(),
    "Fernet token inside a path": "/lake/" + Fernet(FERNET_KEY).encrypt(b"x").decode(),
    "Fernet key": FERNET_KEY,
    "AWS access key id": "AKIAIOSFODNN7EXAMPLE",
    "AWS secret access key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "PEM private key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----",
    "password= pattern": f"password={SECRET}",
}
ALLOWED = [
    "postgresql://cofre@db:5432/cofre",
    "sqlite:////tmp/cofre-home/warehouse.db",
    "s3://my-lake/prefix",
    "/tmp/pytest-of-root/pytest-3/test_x0/cofre-home/lake",
    "spark://spark-master:7077",
    "local[*]",
    "3f2b1c4e-1111-2222-3333-444455556666",
    "0123456789abcdef0123456789abcdef01234567",  # a git sha is not an AWS secret
    "live",
]


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_secret_shaped_values_are_refused_naming_the_parameter(case):
    with pytest.raises(ConfigurationError) as caught:
        refuse_secret_parameters({"seed": 42, "lake": REFUSED[case]})
    message = str(caught.value)
    assert "'lake'" in message and "cofre secrets set" in message
    assert SECRET not in message and REFUSED[case] not in message


def test_ordinary_values_pass():
    refuse_secret_parameters(
        {f"p{i}": value for i, value in enumerate(ALLOWED)}
        | {"olist_dir": Path("/data/olist"), "only": ["ipca", "olist"], "days": 30, "x": None}
    )


def test_nested_values_registered_secrets_and_secret_names_are_refused():
    with pytest.raises(ConfigurationError, match=r"'only\[1\]'"):
        refuse_secret_parameters({"only": ["ipca", f"s3://a:{SECRET}@b"]})
    register_secret("decrypted-value-77")  # what `reveal` registers in this process
    with pytest.raises(ConfigurationError, match="Cofre treats as secret"):
        refuse_secret_parameters({"sources": "live decrypted-value-77"})
    with pytest.raises(ConfigurationError, match="'api_token' is named like a secret"):
        refuse_secret_parameters({"api_token": "anything"})


def test_the_url_check_names_where_the_password_belongs():
    with pytest.raises(ConfigurationError, match=r"COFRE_WAREHOUSE_BLOCK=NAME.*pgpass") as caught:
        refuse_password_in_url(f"postgresql://u:{SECRET}@h/db", "warehouse URL")
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigurationError, match="cofre secrets set s3 NAME"):
        refuse_password_in_url(f"s3://k:{SECRET}@bucket", "lake URL")
    refuse_password_in_url("postgresql://cofre@db/cofre", "warehouse URL")
