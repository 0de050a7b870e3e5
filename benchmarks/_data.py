"""Where the benchmarks find data sets: an explicit argument, else ``$RLENGINE_DATA/<relative path>``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rlengine.config import DATA_ENV


def data_path(arg: str | Path | None, relative: str, *, flag: str = "--data") -> Path:
    """``arg`` when given; else ``$RLENGINE_DATA/relative``; else exit with a message saying how to give it."""
    if arg:
        return Path(arg)
    root = os.environ.get(DATA_ENV)
    if not root:
        sys.exit(f"no data set given: pass {flag} PATH (any SGF file, directory or archive), or set {DATA_ENV} "
                 f"to the folder that holds {relative} (README.md, 'Expert SGF data')")
    path = Path(root) / relative
    if not path.exists():
        sys.exit(f"{path}: not found ({DATA_ENV}={root}); pass {flag} PATH instead")
    return path
