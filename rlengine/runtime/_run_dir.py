"""Run directories: ``runs/<name>/`` with config.toml, checkpoints/, games/, tb/ and metrics.jsonl."""

from __future__ import annotations

import json
import logging
import math
import tomllib
from pathlib import Path
from typing import Any

from rlengine.config import ConfigError
from rlengine.runtime._atomic import atomic_write_text
from rlengine.runtime._checkpoint import latest_checkpoint

__all__ = ["MetricsLogger", "RunDir"]

log = logging.getLogger(__name__)


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


class RunDir:
    """One training run's folder.  ``prepare(config_toml)`` starts it or finds where to resume."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.config_path = self.path / "config.toml"
        self.checkpoints = self.path / "checkpoints"
        self.games = self.path / "games"
        self.tb = self.path / "tb"
        self.metrics_path = self.path / "metrics.jsonl"

    def prepare(self, config_toml: str, *, may_change: tuple[str, ...] = ()) -> Path | None:
        """Create the folders and write the config; on a re-run, check the config is the same and
        return the checkpoint to resume from (None for a fresh start).

        A run directory with no checkpoint yet has nothing to resume, so a new config replaces the
        old one there (a start that failed on a typo must not lock the directory).  ``may_change``:
        dotted keys (e.g. ``dqn.total_steps``, to extend a finished run) that a resume may change; the
        new config is then written."""
        for d in (self.path, self.checkpoints, self.tb):
            d.mkdir(parents=True, exist_ok=True)
        resume = latest_checkpoint(self.checkpoints)
        if self.config_path.exists():
            try:
                old = _flatten(tomllib.loads(self.config_path.read_text()))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                if resume is not None:
                    raise ConfigError(f"{self.config_path}: unreadable: {exc}") from None
                old = {}
            new = _flatten(tomllib.loads(config_toml))
            # the stored config is the resolved one (every field), so a key on one side only is a field that a
            # newer (or older) version of the code added (or dropped): not a change of this run's settings
            other_version = sorted(set(old) ^ set(new)) if old else []
            for k in other_version:
                log.info("%s: config key %s only in the %s config (a field of another version)", self.path, k,
                         "new" if k in new else "stored")
            diffs = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) & set(new))
                     if old.get(k) != new.get(k)]
            fixed = [d for d in diffs if d.split(":", 1)[0] not in may_change]
            if fixed and resume is not None:
                raise ConfigError(f"{self.config_path}: this run directory was started with another config "
                                  f"({'; '.join(fixed[:5])}); use another --run-dir or the same config"
                                  + (f" (only {', '.join(may_change)} may change on a resume)" if may_change else ""))
            if (diffs or other_version) and resume is not None:
                if diffs:
                    log.info("%s: resuming with %s", self.path, "; ".join(diffs))
                atomic_write_text(self.config_path, config_toml)
                return resume
            if diffs:
                log.warning("%s: no checkpoint yet, starting over with the new config (%s)", self.path,
                            "; ".join(diffs[:5]))
                atomic_write_text(self.config_path, config_toml)
        else:
            atomic_write_text(self.config_path, config_toml)
        return resume


class MetricsLogger:
    """``metrics.jsonl`` (one JSON object per line, with ``step``) plus TensorBoard scalars.

    On resume from step S, lines after S (written after the last checkpoint by
    the run that died) are dropped, and TensorBoard purges them too.  A fresh
    start (``resume_step=None``) drops every earlier line: S = 0.
    """

    def __init__(self, run_dir: RunDir, *, resume_step: int | None = None, tensorboard: bool = True):
        self.path = run_dir.metrics_path
        if resume_step is None:
            resume_step = -1  # a start with no checkpoint: whatever a failed earlier start logged goes
        if self.path.exists():
            kept = []
            for line in self.path.read_text().splitlines():
                try:
                    if json.loads(line).get("step", 0) <= resume_step:
                        kept.append(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
            atomic_write_text(self.path, "".join(x + "\n" for x in kept))
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(run_dir.tb), purge_step=resume_step + 1)
            except ImportError as exc:  # tensorboard is a dependency, but keep training without it
                log.warning("TensorBoard logging off: %s", exc)

    def log(self, step: int, **values: Any) -> None:
        record = {"step": int(step)}
        for k, v in values.items():
            if v is None:
                continue
            record[k] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, float) and math.isfinite(v):
                    self._tb.add_scalar(k, v, step)

    def flush(self) -> None:
        self._file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()
