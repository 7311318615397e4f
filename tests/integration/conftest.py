"""Fixtures the attack tests share: listeners on 127.0.0.1 that must see nothing."""

from tests.listeners import fake_pg, listener  # noqa: F401  (fixtures, found by name)
