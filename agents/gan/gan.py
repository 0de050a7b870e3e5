"""GANs on the mode-collapse reference mixtures: non-saturating loss, Adam(2e-4, beta1 = 0.5).

Read top to bottom: the losses, one training step, the training loop (run directory, checkpoints,
resume, TensorBoard, metrics, progress bar), evaluation and the scatter plot.

- **Losses** (Goodfellow et al. 2014, non-saturating): the discriminator minimises
  -log D(x) - log(1 - D(G(z))), the generator -log D(G(z)), both on logits (softplus).
- **Options**: spectral normalisation of the discriminator (``network.spectral_norm``) and the R1 penalty
  (gamma / 2) E|grad D(x)|^2 on real data (``train.r1``).
- **Evaluation**: ``eval.samples`` generator samples scored by ``agents.gan.data.mode_metrics``: modes
  covered and the fraction of high-quality samples (within 3 sd of a mode).
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from agents.gan.config import GANRunConfig
from agents.gan.data import mixture, mode_metrics, sample_mixture
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.nn import MLPDiscriminator, MLPDiscriminatorConfig, MLPGenerator, MLPGeneratorConfig
from rlengine.runtime import (
    CheckpointError,
    MetricsLogger,
    RunDir,
    atomic_write_bytes,
    load_checkpoint,
    load_module_state,
    pick_device,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from rlengine.seeding import derive_seed, seed_everything

__all__ = ["AGENT_NAME", "discriminator_loss", "evaluate", "generator_loss", "train", "train_step", "watch"]

log = logging.getLogger(__name__)

AGENT_NAME = "gan"


def build(cfg: GANRunConfig) -> tuple[MLPGenerator, MLPDiscriminator]:
    means, _ = mixture(cfg.data.dataset)
    dim, n = means.shape[1], cfg.network
    g = MLPGenerator(MLPGeneratorConfig(z_dim=n.z_dim, out_features=dim, hidden=n.hidden))
    d = MLPDiscriminator(MLPDiscriminatorConfig(in_features=dim, hidden=n.hidden, spectral_norm=n.spectral_norm))
    return g, d


# ---- losses and one step ----------------------------------------------------------------------------


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))) averaged: real labelled 1, generated 0."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: -log D(G(z))."""
    return F.softplus(-fake_logits).mean()


def train_step(g, d, opt_g, opt_d, real: torch.Tensor, cfg: GANRunConfig, gen: torch.Generator) -> dict:
    """One discriminator update, then one generator update; returns the losses (and the R1 term)."""
    t = cfg.train
    z = torch.randn(len(real), cfg.network.z_dim, generator=gen, device=real.device)
    real = real.requires_grad_(t.r1 > 0)
    real_logits = d(real)
    loss_d = discriminator_loss(real_logits, d(g(z).detach()))
    penalty = torch.zeros((), device=real.device)
    if t.r1 > 0:
        (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
        penalty = 0.5 * t.r1 * grad.pow(2).flatten(1).sum(1).mean()
    opt_d.zero_grad(set_to_none=True)
    (loss_d + penalty).backward()
    opt_d.step()
    z = torch.randn(len(real), cfg.network.z_dim, generator=gen, device=real.device)
    loss_g = generator_loss(d(g(z)))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach()), "r1": float(penalty.detach())}


@torch.no_grad()
def generate(g, n: int, cfg: GANRunConfig, seed: int, device: torch.device) -> np.ndarray:
    gen = torch.Generator(device=device).manual_seed(seed)
    g.eval()
    try:
        return g(torch.randn(n, cfg.network.z_dim, generator=gen, device=device)).cpu().numpy()
    finally:
        g.train()


def _metrics(g, cfg: GANRunConfig, seed: int, device: torch.device) -> dict:
    means, std = mixture(cfg.data.dataset)
    return mode_metrics(generate(g, cfg.eval.samples, cfg, seed, device), means, std, min_count=cfg.eval.min_count)


# ---- the training loop --------------------------------------------------------------------------------


def train(cfg: GANRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None) -> dict:
    """Train (or resume) a GAN run; returns the last evaluation with ``step``."""
    run = RunDir(run_dir)
    config_toml = to_toml(cfg)
    resume_path = run.prepare(config_toml)
    seed = cfg.run.seed
    seed_everything(seed)
    device = pick_device(cfg.run.device)
    g, d = build(cfg)
    g, d = g.to(device), d.to(device)
    t = cfg.train
    opt_g = torch.optim.Adam(g.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    opt_d = torch.optim.Adam(d.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    data_rng = np.random.default_rng(derive_seed(seed, "data"))
    gen = torch.Generator(device=device).manual_seed(derive_seed(seed, "noise") % 2**63)
    step, last = 0, {}
    if resume_path is not None:
        ckpt = load_checkpoint(resume_path)
        load_module_state(g, ckpt.tensors, "g", source=ckpt.path)
        load_module_state(d, ckpt.tensors, "d", source=ckpt.path)
        if ckpt.optimizer is None:
            raise CheckpointError(f"{ckpt.path}: optimizer state missing")
        opt_g.load_state_dict(ckpt.optimizer["g"])
        opt_d.load_state_dict(ckpt.optimizer["d"])
        step, last = int(ckpt.state["step"]), ckpt.state.get("last", {})
        restore_rng_state(ckpt.state["rng"], ckpt.tensors)
        data_rng.bit_generator.state = ckpt.state["data_rng"]
        gen.set_state(ckpt.tensors["rng.noise"].to(torch.uint8).cpu())
        log.info("resuming %s at step %d", run.path, step)
    metrics = MetricsLogger(run, resume_step=step if resume_path is not None else None)

    def checkpoint() -> None:
        rng_json, rng_tensors = rng_state()
        tensors = {**{f"g.{k}": v for k, v in g.state_dict().items()},
                   **{f"d.{k}": v for k, v in d.state_dict().items()}, **rng_tensors, "rng.noise": gen.get_state()}
        save_checkpoint(run.checkpoints, step, agent=AGENT_NAME, tensors=tensors,
                        optimizer={"g": opt_g.state_dict(), "d": opt_d.state_dict()},
                        state={"rng": rng_json, "data_rng": data_rng.bit_generator.state, "last": last},
                        config_toml=config_toml, keep=cfg.checkpoint.keep)

    bar = tqdm(total=t.steps, initial=step, unit="step", disable=not progress, file=sys.stderr, dynamic_ncols=True,
               desc=f"GAN {cfg.data.dataset}")
    start = step
    try:
        while step < t.steps and (stop_at is None or step < stop_at):
            real = torch.from_numpy(sample_mixture(cfg.data.dataset, t.batch_size, data_rng)).to(device)
            losses = train_step(g, d, opt_g, opt_d, real, cfg, gen)
            step += 1
            bar.update(1)
            if step % 100 == 0:
                metrics.log(step, **losses)
            if step % cfg.eval.every == 0 or step == t.steps:
                last = {**_metrics(g, cfg, derive_seed(seed, "eval", step), device), "step": step}
                metrics.log(step, modes=last["modes"], high_quality=last["high_quality"])
                bar.set_postfix(modes=f"{last['modes']}/{last['num_modes']}", hq=f"{last['high_quality']:.2f}",
                                refresh=False)
            if step % cfg.checkpoint.every == 0 or step == t.steps:
                checkpoint()
        if step > start and not (run.checkpoints / f"step-{step:012d}").exists():
            checkpoint()  # an orderly stop between checkpoints keeps its work
    finally:
        bar.close()
        metrics.close()
    return {**last, "step": step}


# ---- evaluation and the picture ------------------------------------------------------------------------


def _load(path: str | Path) -> tuple[GANRunConfig, MLPGenerator, torch.device]:
    ckpt = load_checkpoint(path)
    if ckpt.agent != AGENT_NAME:
        raise CheckpointError(f"{ckpt.path}: a checkpoint of agent {ckpt.agent!r}, not {AGENT_NAME}")
    import tomllib

    try:
        cfg = load_config(GANRunConfig, data=tomllib.loads(ckpt.config_toml))
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CheckpointError(f"{ckpt.path / 'config.toml'}: {exc}") from None
    g, _ = build(cfg)
    load_module_state(g, ckpt.tensors, "g", source=ckpt.path)
    return cfg, g, torch.device("cpu")


def evaluate(checkpoint: str | Path, *, episodes: int | None = None, seed: int | None = None) -> dict:
    """Modes covered and high-quality fraction of ``episodes`` samples (default ``eval.samples``)."""
    cfg, g, device = _load(checkpoint)
    means, std = mixture(cfg.data.dataset)
    n = int(episodes or cfg.eval.samples)
    samples = generate(g, n, cfg, derive_seed(cfg.run.seed if seed is None else seed, "final-eval"), device)
    return {**mode_metrics(samples, means, std, min_count=cfg.eval.min_count), "dataset": cfg.data.dataset}


def watch(checkpoint: str | Path, out: str | Path, *, seed: int | None = None) -> dict:
    """A PNG scatter of 2,500 generated samples over the true modes (3 sd circles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, g, device = _load(checkpoint)
    means, std = mixture(cfg.data.dataset)
    samples = generate(g, 2500, cfg, derive_seed(cfg.run.seed if seed is None else seed, "watch"), device)
    score = mode_metrics(samples, means, std, min_count=cfg.eval.min_count)
    fig, ax = plt.subplots(figsize=(5, 5))
    if means.shape[1] == 1:
        ax.hist(samples[:, 0], bins=200, color="C0")
        for m in means[:, 0]:
            ax.axvspan(m - 3 * std, m + 3 * std, color="C1", alpha=0.3)
    else:
        ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.5, label="generated")
        for m in means:
            ax.add_patch(plt.Circle(m, 3 * std, fill=False, color="C1"))
        ax.scatter(means[:, 0], means[:, 1], marker="x", color="C1", label="modes (3 sd circles)")
        lim = np.abs(means).max() + 1.0
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(f"{cfg.data.dataset}: {score['modes']}/{score['num_modes']} modes, "
                 f"{100 * score['high_quality']:.1f}% high quality")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(Path(out), buf.getvalue())
    return {**score, "out": str(out)}
