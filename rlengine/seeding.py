"""One seed for Python, numpy, torch (when loaded) and our compiled generators."""

from __future__ import annotations

import hashlib
import random
import sys

import numpy as np

__all__ = ["seed_everything", "derive_seed"]


def seed_everything(seed: int) -> None:
    """Seed ``random``, numpy's legacy global generator and torch (when it is already imported).

    Components that own a generator (players, environments) take the seed
    explicitly, derived with ``derive_seed``, so that they do not depend on
    the order in which global generators are consumed.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def derive_seed(seed: int | None, *labels: int | str) -> int | None:
    """A stable child seed for a named component (None stays None: fresh entropy)."""
    if seed is None:
        return None
    key = ":".join([str(seed), *map(str, labels)])
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") % 2**62
