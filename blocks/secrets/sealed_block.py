"""`SealedBlock`: what the credentials blocks and `CofreConfig` share about their seal.

A seal (blocks/secrets/seal.py) is bound to the block's type and name, so every sealed block knows
the name it is saved under, or the name it was sealed for before it is saved.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from pydantic import PrivateAttr

from blocks.secrets.keyring import Keyring
from blocks.secrets.seal import compute_seal, model_fields_for_seal, seal_problem


class SealedBlock(Block):
    """Base for Cofre blocks with a `seal` field: HMAC over type, name and every field.

    Each subclass declares `seal` itself (here it would move the field in the block schema).
    """

    _sealed_name: str | None = PrivateAttr(None)

    @property
    def block_name(self) -> str | None:
        """The saved name, or the name an unsaved block was sealed for."""
        return self._block_document_name or self._sealed_name

    @property
    def label(self) -> str:
        return f"{self.get_block_type_slug()}/{self.block_name or 'unsaved'}"

    def seal_fields(self) -> dict[str, Any]:
        """Every field but the seal, as JSON values (what the seal covers)."""
        return model_fields_for_seal(self)

    def seal_problem_for(self, name: str | None, keyring: Keyring) -> str | None:
        """None when the seal verifies for `name`, else which check fails (no audit)."""
        return seal_problem(
            self.get_block_type_slug(), name, self.seal_fields(), self.seal, keyring
        )

    def _seal_for(self, name: str, keyring: Keyring) -> None:
        self.seal = compute_seal(self.get_block_type_slug(), name, self.seal_fields(), keyring)
        self._sealed_name = name
