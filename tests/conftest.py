"""Shared test fixtures: paths to the shared data and to GNU Go."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RLENGINE_DATA") or REPO.parent / "shared" / "data")  # data sets: $RLENGINE_DATA
GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if Path("/usr/games/gnugo").exists() else None)


@pytest.fixture(scope="session")
def gnugo() -> list[str]:
    """The GNU Go command line for GTP with Chinese rules (fails in CI when missing, skips elsewhere)."""
    if GNUGO is None:
        if os.environ.get("CI"):
            pytest.fail("GNU Go is required in CI: apt-get install -y gnugo")
        pytest.skip("GNU Go not installed (apt-get install -y gnugo)")
    return [GNUGO, "--mode", "gtp", "--chinese-rules"]


@pytest.fixture(scope="session")
def rlengine_cmd() -> list[str]:
    """Our own command, run with the interpreter running the tests."""
    return [sys.executable, "-m", "rlengine.cli"]


def _shared(name: str) -> Path:
    path = SHARED_DATA / "go" / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing in CI: {path}")
        pytest.skip(f"game archive not found at {path}")
    return path


@pytest.fixture(scope="session")
def tom_archive() -> Path:
    """The 19x19 tom-9d SGF archive in ../shared/data (fails in CI when missing, skips elsewhere)."""
    return _shared("tom-9d-19x19.tar.gz")


@pytest.fixture(scope="session")
def go9_archive() -> Path:
    """The 908 9x9 GNU Go level-10 games in ../shared/data (fails in CI when missing, skips elsewhere)."""
    return _shared("gnugo-9x9-l10.tar.gz")


@pytest.fixture(scope="session")
def ray_session():
    """One real local Ray instance for the whole test session: ``ray.init(num_cpus=2)``, no dashboard
    (ARCHITECTURE.md, "Tests").  Multi-node tests start their own ``ray.cluster_utils.Cluster``
    in a subprocess, so they do not disturb it."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        # address="local": a new instance, even when a cluster test or `ray start` left its address in
        # /tmp/ray/ray_current_cluster (ray.init would try to join it)
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
