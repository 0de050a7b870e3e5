"""AlphaGo's value network (Silver et al. 2016): v(s) ~ the outcome z of self-play from s.

Read top to bottom: the data stage, evaluation of a network on positions, the training loop, evaluation
of a checkpoint.

- **Data.** ``agents.alphago.value_data``: AlphaGo's recipe (SL policy to a random move U, one random move,
  the RL policy to the end), one position per game, on Ray actors; ``rlengine train`` makes the missing
  games first, ``rlengine gen-value-data`` only them.  ``data.positions = "all"`` trains on every
  position of the same games instead (the overfitting contrast).
- **Network.** ``agents.alphago.nets.ValueCNN`` (the policy tower on 49 planes, a 1x1 convolution, a fully
  connected layer of 256, tanh) or ``ValueResNet`` (``network.kind``).
- **Training.** Mean squared error between v(s) and z, SGD or Adam (``[train]``, the SL policy's
  section), a random one of the 8 symmetries per sample.  ``train_mse`` / ``test_mse`` are measured on
  fixed samples of the training positions and of the held-out games' positions (of the same kind);
  MSE is mean((z - v)^2) with z in {-1, +1}, so a constant prediction of 0 scores 1.
- **Outputs.** ``checkpoints/`` (weights under ``value.``, optimiser, counters, RNG states, config),
  ``metrics.jsonl`` and ``tb/``.  Re-running the same command resumes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphago import value_data as vd
from agents.alphago.checkpoint import VALUE_AGENT, VALUE_PREFIX, load_value, resume_training, save_training
from agents.alphago.config import ValueRunConfig
from agents.alphago.data import BatchSampler, GameStream
from agents.alphago.nets import build_value_net
from agents.alphago.sl import make_optimizer, supervised_loop
from rlengine.config import ConfigError, to_toml
from rlengine.runtime import MetricsLogger, RunDir, find_checkpoint, pick_device
from rlengine.seeding import derive_seed, seed_everything

__all__ = ["evaluate", "generate_data", "predict", "train", "value_mse"]

log = logging.getLogger(__name__)


# ---- the data stage ----------------------------------------------------------------------------------


def generate_data(cfg: ValueRunConfig, *, progress: bool = True, address: str | None = None) -> dict:
    """``rlengine gen-value-data``: the config's missing games (``agents.alphago.value_data.generate``)."""
    return vd.generate(cfg, progress=progress, address=address)


def _load(cfg: ValueRunConfig) -> vd.ValueData:
    """The games of ``data.dir``; a ConfigError when they were played at another komi than ``game.komi`` (the
    network has no komi input: it learns the komi of its games, and the checkpoint records that komi)."""
    try:
        data = vd.load_value_data(cfg.data.dir, test_fraction=cfg.data.test_fraction, size=cfg.board_size)
    except FileNotFoundError as exc:
        raise ConfigError(f"data.dir: {exc}") from None
    komis = np.unique(data.stream.komi)
    if komis.size and (komis.size > 1 or float(komis[0]) != cfg.game.komi):
        raise ConfigError(f"game.komi: the games in {cfg.data.dir} were played at komi "
                          f"{', '.join(f'{k:g}' for k in komis)}, this config has {cfg.game.komi:g}")
    return data


def _fixed(samples: tuple[np.ndarray, np.ndarray, np.ndarray], num: int, seed: int):
    """A fixed subsample of ``num`` samples (all when fewer), in order."""
    events, games, z = samples
    if num < len(events):
        pick = np.sort(np.random.default_rng(seed).choice(len(events), size=num, replace=False))
        return events[pick], games[pick], z[pick]
    return events, games, z


# ---- evaluation on positions ------------------------------------------------------------------------


@torch.no_grad()
def predict(net: torch.nn.Module, stream: GameStream, events: np.ndarray, games: np.ndarray, *, encoder: str,
            device: torch.device, batch_size: int = 512, amp: bool = True) -> np.ndarray:
    """float32 [S]: v of the position before each event (symmetry 0)."""
    from games.go.features import encode_games

    was_training = net.training
    net.eval()
    out = np.empty(len(events), np.float32)
    try:
        for lo in range(0, len(events), batch_size):
            ev, gm = events[lo:lo + batch_size], games[lo:lo + batch_size]
            planes = encode_games(stream.points, stream.colors, stream.game_offsets, gm, ev,
                                  np.zeros(len(ev), np.int64), encoder, stream.size)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
                out[lo:lo + len(ev)] = net(torch.from_numpy(planes).to(device)).float().cpu().numpy()
    finally:
        net.train(was_training)
    return out


def value_mse(net: torch.nn.Module, stream: GameStream, samples, **kw) -> float:
    """mean((z - v)^2) over ``samples`` = (events, games, z)."""
    events, games, z = samples
    if len(events) == 0:
        return float("nan")
    v = predict(net, stream, events, games, **kw)
    return float(np.mean((z - v) ** 2))


# ---- the training loop --------------------------------------------------------------------------------------


def train(cfg: ValueRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
          time_limit: float | None = None, address: str | None = None) -> dict:
    """Make the missing value games, then train (or resume) the value network in ``run_dir``; returns the
    last evaluation (``train_mse``, ``test_mse``, ``const_test_mse``) plus ``step`` and ``samples_per_s``.

    ``address`` joins a Ray cluster for the data stage; ``stop_at`` / ``time_limit`` end the call at that
    step / after that many seconds, with a checkpoint."""
    t = cfg.train
    run = RunDir(run_dir)
    config_toml = to_toml(cfg)
    resume_path = run.prepare(config_toml)
    seed = cfg.run.seed
    generated = vd.generate(cfg, progress=progress, address=address)
    seed_everything(seed)
    device = pick_device(cfg.run.device)
    encoder, size, kind = cfg.network.encoder, cfg.board_size, cfg.data.positions

    data = _load(cfg)
    stream = data.stream
    train_samples = vd.value_samples(data, "train", kind)
    test_samples = vd.value_samples(data, "test", kind)
    if len(test_samples[0]) == 0:
        raise ConfigError(f"data.test_fraction: no test positions among the {data.num_games} games of {cfg.data.dir}")
    n_eval = cfg.eval.positions
    fixed = {"train": _fixed(train_samples, n_eval, derive_seed(seed, "train-eval")),
             "test": _fixed(test_samples, n_eval, derive_seed(seed, "test-eval"))}
    if kind != "one":  # the contrast: also the held-out games' one-per-game positions
        fixed["test_one"] = _fixed(vd.value_samples(data, "test", "one"), n_eval, derive_seed(seed, "test-eval"))
    const = float(train_samples[2].mean())  # the best constant predictor on the training samples
    const_test_mse = float(np.mean((test_samples[2] - const) ** 2))
    log.info("value data %s: %d games (%d short), %d training and %d test positions (%s per game)", cfg.data.dir,
             data.num_games, int(data.short.sum()), len(train_samples[0]), len(test_samples[0]), kind)

    net = build_value_net(cfg.network, size).to(device)
    optimizer = make_optimizer(net, cfg)
    c = {"step": 0, "next_eval": cfg.eval.every_steps, "next_checkpoint": cfg.checkpoint.every_steps}
    last_eval: dict = {}
    if resume_path is not None:
        state = resume_training(resume_path, agent=VALUE_AGENT, net=net, optimizer=optimizer, prefix=VALUE_PREFIX)
        c.update(state["counters"])
        last_eval = state.get("last_eval", {})
        log.info("resuming %s from step %d (%s)", run.path, c["step"], resume_path.name)
    metrics = MetricsLogger(run, resume_step=c["step"] if resume_path is not None else None)

    def checkpoint() -> None:
        save_training(run.checkpoints, c["step"], agent=VALUE_AGENT, net=net, optimizer=optimizer,
                      state={"counters": c, "last_eval": last_eval, "board_size": size, "encoder": encoder,
                             "komi": cfg.game.komi},  # the komi its games were played at (checked by _load)
                      config_toml=config_toml, keep=cfg.checkpoint.keep, prefix=VALUE_PREFIX)

    def validate() -> dict:
        res = {f"{name}_mse": value_mse(net, stream, s, encoder=encoder, device=device,
                                        batch_size=cfg.eval.batch_size, amp=t.amp) for name, s in fixed.items()}
        res["const_test_mse"] = const_test_mse
        metrics.log(c["step"], positions=c["step"] * t.batch_size, **res)
        log.info("step %d: %s", c["step"], " ".join(f"{k} {v:.4f}" for k, v in res.items()))
        return res

    sampler = BatchSampler(stream, batch_size=t.batch_size, encoder=encoder, seed=derive_seed(seed, "batches"),
                           start=c["step"], prefetch=cfg.data.prefetch, samples=train_samples)

    def loss_fn(v: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, dict]:
        loss = F.mse_loss(v.float(), z)  # v [B], z [B]
        return loss, {"loss": float(loss.detach())}

    def run_validate() -> None:
        nonlocal last_eval
        last_eval = validate()

    rate = supervised_loop(net, optimizer, sampler, train=t, counters=c, device=device, loss_fn=loss_fn,
                           validate=run_validate, checkpoint=checkpoint, eval_every=cfg.eval.every_steps,
                           checkpoint_every=cfg.checkpoint.every_steps, metrics=metrics,
                           checkpoints=run.checkpoints, fresh=resume_path is None, stop_at=stop_at,
                           time_limit=time_limit, progress=progress, desc=f"value net ({kind})",
                           postfix=lambda: {"test": f"{last_eval.get('test_mse', float('nan')):.3f}"})
    return {**last_eval, "step": c["step"], "positions": c["step"] * t.batch_size, "samples_per_s": rate,
            "train_samples": int(len(train_samples[0])), "test_samples": int(len(test_samples[0])),
            "games": generated["games"], "device": str(device)}


# ---- evaluation of a checkpoint -------------------------------------------------------------------------------


def evaluate(checkpoint: str | Path, *, episodes: int | None = None, seed: int | None = None,
             data: str | Path | None = None) -> dict:
    """Train and test MSE of a value checkpoint on value data (``data``: a value-data folder; default the
    checkpoint's ``data.dir``), split by the checkpoint's ``data.test_fraction``, on the position kind it
    was trained on and on the other; ``episodes`` positions per figure, a fixed random sample (default the
    checkpoint's ``eval.positions``; all of them when there are fewer)."""
    path = find_checkpoint(checkpoint)
    cfg, net, device = load_value(path)
    folder = Path(data) if data is not None else Path(cfg.data.dir)
    vdata = vd.load_value_data(folder, test_fraction=cfg.data.test_fraction, size=cfg.board_size)
    seed = seed if seed is not None else cfg.run.seed
    out: dict = {"checkpoint": str(path), "data": str(folder), "positions": cfg.data.positions,
                 "games": vdata.num_games, "short_games": int(vdata.short.sum())}
    for kind in ("one", "all"):
        fig = {}
        for split in ("train", "test"):
            s = vd.value_samples(vdata, split, kind)
            fig[f"{split}_positions"] = int(len(s[0]))
            s = _fixed(s, int(episodes or cfg.eval.positions), derive_seed(seed, "eval", split, kind))
            fig[f"{split}_sampled"] = int(len(s[0]))
            fig[f"{split}_mse"] = value_mse(net, vdata.stream, s, encoder=cfg.network.encoder, device=device,
                                            batch_size=cfg.eval.batch_size, amp=cfg.train.amp)
            if split == "test":
                const = float(vd.value_samples(vdata, "train", kind)[2].mean())
                fig["const_test_mse"] = float(np.mean((s[2] - const) ** 2))
        out[kind] = fig
    out["train_mse"], out["test_mse"] = out[cfg.data.positions]["train_mse"], out[cfg.data.positions]["test_mse"]
    return out
