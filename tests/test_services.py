"""The PostgreSQL test service itself: real server, password auth over TCP."""

from __future__ import annotations

import psycopg
import pytest


def test_postgres_accepts_the_password_and_refuses_a_wrong_one(postgres):
    with psycopg.connect(postgres.url()) as conn:
        assert conn.execute("select version()").fetchone()[0].startswith("PostgreSQL 15")
    wrong = postgres.url().replace(postgres.password, "wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)
