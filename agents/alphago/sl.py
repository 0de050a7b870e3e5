"""Supervised-learning policy network (AlphaGo's "SL policy", Silver et al. 2016).

Read top to bottom: device and optimiser, validation, the training loop (shards, sampler thread,
schedule, evaluation, checkpoints, resume), then evaluation of a checkpoint (loading and saving a policy
for inference is ``agents.alphago.checkpoint``; ``rlengine watch`` is ``agents.alphago.watch``).  A
"position" is one move event of a game (passes excluded); the network predicts the expert's move from the
planes of ``games.go.features``.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agents.alphago import data as sl_data
from agents.alphago.checkpoint import AGENT_NAME, load_policy, resume_training, save_training
from agents.alphago.config import SLRunConfig
from agents.alphago.nets import build_policy_net
from rlengine.config import ConfigError, expand_path, to_toml
from rlengine.runtime import MetricsLogger, RunDir, pick_device
from rlengine.seeding import derive_seed, seed_everything

__all__ = ["evaluate", "evaluate_positions", "make_optimizer", "supervised_loop", "train"]

log = logging.getLogger(__name__)


# ---- device, optimiser -------------------------------------------------------------------------------


def make_optimizer(net: nn.Module, cfg: SLRunConfig) -> torch.optim.Optimizer:
    t = cfg.train
    params = list(net.parameters())
    if t.optimizer == "adam":
        return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, nesterov=t.nesterov and t.momentum > 0,
                           weight_decay=t.weight_decay)


def _autocast(device: torch.device, amp: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


# ---- validation ----------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate_positions(net: nn.Module, stream: sl_data.GameStream, events: np.ndarray, games: np.ndarray, *,
                       encoder: str, device: torch.device, batch_size: int = 512, amp: bool = True,
                       progress: bool = False) -> dict:
    """Top-1 / top-5 accuracy and cross-entropy over the given samples (symmetry 0)."""
    was_training = net.training
    net.eval()
    hits1 = hits5 = 0
    loss_sum = 0.0
    try:
        for lo in tqdm(range(0, len(events), batch_size), desc="evaluating", unit="batch", disable=not progress,
                       file=sys.stderr, dynamic_ncols=True):
            ev, gm = events[lo:lo + batch_size], games[lo:lo + batch_size]
            planes, targets = sl_data.encode_samples(stream, ev, gm, np.zeros(len(ev), np.int64), encoder)
            x = torch.from_numpy(planes).to(device)
            y = torch.from_numpy(targets).to(device)
            with _autocast(device, amp):
                logits = net(x).float()  # [B, M]
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices  # [B, 5]
            hits1 += int((top5[:, 0] == y).sum())
            hits5 += int((top5 == y[:, None]).any(1).sum())
    finally:
        net.train(was_training)
    n = max(len(events), 1)
    return {"top1": hits1 / n, "top5": hits5 / n, "loss": loss_sum / n, "positions": int(len(events))}


# ---- the training loop -----------------------------------------------------------------------------------------


def supervised_loop(net: nn.Module, optimizer: torch.optim.Optimizer, sampler: sl_data.BatchSampler, *, train,
                    counters: dict, device: torch.device, loss_fn, validate, checkpoint, eval_every: int,
                    checkpoint_every: int, metrics: MetricsLogger, checkpoints: Path, fresh: bool,
                    stop_at: int | None, time_limit: float | None, postfix, progress: bool = True,
                    desc: str | None = None) -> float | None:
    """The gradient steps of a supervised run (the SL policy's and the value network's): ``train`` (a
    ``TrainSection``: steps, lr schedule, clipping, amp, log_every) drives ``counters`` (``step``,
    ``next_eval``, ``next_checkpoint``) from where they are; ``loss_fn(outputs, targets) -> (loss, {name:
    batch mean})`` (the means are averaged over ``log_every`` steps into ``metrics``); ``validate()`` runs
    at step 0 of a fresh run and every ``eval_every`` steps, ``checkpoint()`` every ``checkpoint_every``
    steps and when the loop stops early (``stop_at``, ``time_limit``, Ctrl-C).  Closes the sampler, the
    progress bar (``progress``, ``desc``) and the metrics; returns the training samples/s of this call (None when it took no step)."""
    t, c = train, counters
    bar = tqdm(total=t.total_steps, initial=c["step"], unit="step", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.05, desc=desc)
    t0, step0 = time.perf_counter(), c["step"]
    sums: dict[str, float] = {}
    count = 0
    params = list(net.parameters())
    net.train()
    try:
        if c["step"] == 0 and fresh:
            validate()  # the curve starts at the untrained network
        while c["step"] < t.total_steps and (stop_at is None or c["step"] < stop_at) and (
                time_limit is None or time.perf_counter() - t0 < time_limit):
            lr = t.lr_at(c["step"])
            for group in optimizer.param_groups:
                group["lr"] = lr
            planes, targets = next(sampler)
            x = torch.from_numpy(planes).to(device, non_blocking=True)  # [B, P, N, N] uint8
            y = torch.from_numpy(targets).to(device, non_blocking=True)  # [B]
            with _autocast(device, t.amp):
                out = net(x)
            loss, stats = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if t.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, t.grad_clip, foreach=True)
            optimizer.step()
            c["step"] += 1
            bar.update(1)
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            if c["step"] % t.log_every == 0:
                rate = (c["step"] - step0) * t.batch_size / max(time.perf_counter() - t0, 1e-9)
                means = {key: value / count for key, value in sums.items()}
                metrics.log(c["step"], **means, lr=lr, samples_per_s=rate, positions=c["step"] * t.batch_size)
                bar.set_postfix(loss=f"{means.get('loss', float('nan')):.3f}", sps=f"{rate:.0f}", **postfix(),
                                refresh=False)
                sums, count = {}, 0
            if c["step"] >= c["next_eval"] or c["step"] >= t.total_steps:
                validate()
                while c["next_eval"] <= c["step"]:
                    c["next_eval"] += eval_every
            if c["step"] >= c["next_checkpoint"] or c["step"] >= t.total_steps:
                checkpoint()
                while c["next_checkpoint"] <= c["step"]:
                    c["next_checkpoint"] += checkpoint_every
        if c["step"] > step0 and not (checkpoints / f"step-{c['step']:012d}").exists():
            checkpoint()  # stopped between checkpoints (stop_at / time_limit): keep the work
    except KeyboardInterrupt:
        if c["step"] > step0 and not (checkpoints / f"step-{c['step']:012d}").exists():
            checkpoint()
        raise
    finally:
        sampler.close()
        bar.close()
        metrics.close()
    elapsed = time.perf_counter() - t0
    return (c["step"] - step0) * t.batch_size / elapsed if c["step"] > step0 else None


def prepare_data(cfg: SLRunConfig, *, progress: bool = True) -> Path:
    d = cfg.data
    try:
        return sl_data.prepare_shards(expand_path(d.path, "data.path"), d.board_size, d.cache_dir, seed=d.split_seed,
                                      val_fraction=d.val_fraction, test_fraction=d.test_fraction,
                                      max_games=d.max_games, progress=progress)
    except FileNotFoundError as exc:
        raise ConfigError(f"data.path: {exc}") from None


def train(cfg: SLRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
          time_limit: float | None = None) -> dict:
    """Train (or resume) the SL policy in ``run_dir``; returns the last validation result plus ``step``,
    ``positions`` (training samples seen) and ``samples_per_s``.

    Re-running with the same config resumes from the last checkpoint.  ``stop_at`` ends the call at that
    step (as a kill would, for tests); ``time_limit`` after that many seconds (time-boxed runs); both
    write a checkpoint before returning.
    """
    t = cfg.train
    run = RunDir(run_dir)
    config_toml = to_toml(cfg)
    resume_path = run.prepare(config_toml)
    seed = cfg.run.seed
    seed_everything(seed)
    device = pick_device(cfg.run.device)
    encoder, size = cfg.network.encoder, cfg.data.board_size

    shards = prepare_data(cfg, progress=progress)
    train_stream = sl_data.load_shards(shards, "train")
    val_stream = sl_data.load_shards(shards, "val")
    if val_stream.num_positions == 0:
        raise ConfigError(f"data.val_fraction: the validation split of {cfg.data.path} is empty "
                          f"({val_stream.num_games} games); raise data.val_fraction or data.max_games")
    val_events, val_games = sl_data.fixed_samples(val_stream, cfg.eval.positions, derive_seed(seed, "val"))

    net = build_policy_net(cfg.network, size).to(device)
    optimizer = make_optimizer(net, cfg)
    c = {"step": 0, "next_eval": cfg.eval.every_steps, "next_checkpoint": cfg.checkpoint.every_steps}
    last_eval: dict = {}
    if resume_path is not None:
        state = resume_training(resume_path, agent=AGENT_NAME, net=net, optimizer=optimizer)
        c.update(state["counters"])
        last_eval = state.get("last_eval", {})
        log.info("resuming %s from step %d (%s)", run.path, c["step"], resume_path.name)
    metrics = MetricsLogger(run, resume_step=c["step"] if resume_path is not None else None)

    def checkpoint() -> None:
        save_training(run.checkpoints, c["step"], agent=AGENT_NAME, net=net, optimizer=optimizer,
                      state={"counters": c, "last_eval": last_eval, "board_size": size, "encoder": encoder,
                             "shards": str(shards)},
                      config_toml=config_toml, keep=cfg.checkpoint.keep)

    def validate() -> dict:
        res = evaluate_positions(net, val_stream, val_events, val_games, encoder=encoder, device=device,
                                 batch_size=cfg.eval.batch_size, amp=t.amp)
        metrics.log(c["step"], val_top1=res["top1"], val_top5=res["top5"], val_loss=res["loss"],
                    positions=c["step"] * t.batch_size)
        log.info("step %d (%d positions): val top-1 %.4f top-5 %.4f loss %.3f", c["step"],
                 c["step"] * t.batch_size, res["top1"], res["top5"], res["loss"])
        return res

    sampler = sl_data.BatchSampler(train_stream, batch_size=t.batch_size, encoder=encoder,
                                   seed=derive_seed(seed, "batches"), start=c["step"], prefetch=cfg.data.prefetch)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
        logits = logits.float()  # [B, M]
        loss = F.cross_entropy(logits, y)
        hits = (logits.detach().argmax(1) == y).float().mean()
        return loss, {"loss": float(loss.detach()), "train_top1": float(hits)}

    def run_validate() -> None:
        nonlocal last_eval
        last_eval = validate()

    rate = supervised_loop(net, optimizer, sampler, train=t, counters=c, device=device, loss_fn=loss_fn,
                           validate=run_validate, checkpoint=checkpoint, eval_every=cfg.eval.every_steps,
                           checkpoint_every=cfg.checkpoint.every_steps, metrics=metrics,
                           checkpoints=run.checkpoints, fresh=resume_path is None, stop_at=stop_at,
                           time_limit=time_limit, progress=progress,
                           postfix=lambda: {"val": f"{last_eval.get('top1', float('nan')):.3f}"})
    return {"val_top1": last_eval.get("top1"), "val_top5": last_eval.get("top5"), "val_loss": last_eval.get("loss"),
            "step": c["step"], "positions": c["step"] * t.batch_size, "samples_per_s": rate, "device": str(device)}


# ---- evaluation of a checkpoint ------------------------------------------------------------------------------


def evaluate(checkpoint: str | Path, *, episodes: int | None = None, seed: int | None = None,
             sgf: str | Path | None = None, progress: bool = False) -> dict:
    """Move-prediction accuracy of a checkpoint.

    With ``sgf`` (an SGF file, directory or archive): top-1/top-5 over every move of every game of the
    checkpoint's board size (passes excluded).  Without: over ``episodes`` (default eval.positions)
    random positions of the configured data's test split.
    """
    cfg, net, device = load_policy(checkpoint)
    size, encoder = cfg.data.board_size, cfg.network.encoder
    if sgf is not None:
        stats = sl_data.ConversionStats()
        stream = sl_data.convert(sgf, size, stats=stats, progress=progress)
        if stream.num_games == 0:
            raise ValueError(f"{sgf}: no {size}x{size} games to evaluate on ({stats.other_size} of other sizes, "
                             f"{len(stats.skipped)} skipped, {stats.malformed} malformed)")
        events, games = sl_data.sample_events(stream)
        source = str(sgf)
    else:
        seed = seed if seed is not None else cfg.run.seed
        stream = sl_data.load_shards(prepare_data(cfg, progress=progress), "test")
        events, games = sl_data.fixed_samples(stream, episodes or cfg.eval.positions, derive_seed(seed, "test"))
        source = f"{cfg.data.path} (test split)"
    res = evaluate_positions(net, stream, events, games, encoder=encoder, device=device,
                             batch_size=cfg.eval.batch_size, amp=cfg.train.amp, progress=progress)
    return {"top1": res["top1"], "top5": res["top5"], "loss": res["loss"], "positions": res["positions"],
            "games": int(len(np.unique(games))), "source": source}
