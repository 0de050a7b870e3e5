"""GANs on the mode-collapse reference mixtures (MLPs) and on 8x8 digits (DCGAN): non-saturating loss,
Adam(2e-4, beta1 = 0.5).

Read top to bottom: the losses, one training step, the training loop (run directory, checkpoints,
resume, TensorBoard, metrics, progress bar), evaluation and the scatter plot.

- **Losses** (Goodfellow et al. 2014, non-saturating): the discriminator minimises
  -log D(x) - log(1 - D(G(z))), the generator -log D(G(z)), both on logits (softplus).
- **Options**: spectral normalisation of the discriminator (``network.spectral_norm``) and the R1 penalty
  (gamma / 2) E|grad D(x)|^2 on real data (``train.r1``).
- **Evaluation**: ``eval.samples`` generator samples scored by ``agents.gan.data.mode_metrics``: modes
  covered and the fraction of high-quality samples (within 3 sd of a mode); digits by
  ``agents.gan.digits.DigitsScorer``: classes covered and the Fréchet distance in a classifier's features.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agents.gan.config import GANRunConfig
from agents.gan.data import mixture, mode_metrics, sample_mixture
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.nn import (DCGANDiscriminator, DCGANDiscriminatorConfig, DCGANGenerator, DCGANGeneratorConfig,
                         MLPDiscriminator, MLPDiscriminatorConfig, MLPGenerator, MLPGeneratorConfig)
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


def build(cfg: GANRunConfig) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator): MLPs for the mixtures, DCGAN for the 8x8 digits."""
    n = cfg.network
    if cfg.data.dataset == "digits":
        g = DCGANGenerator(DCGANGeneratorConfig(z_dim=n.z_dim, channels=1, size=8, base=n.base, start=n.start))
        d = DCGANDiscriminator(DCGANDiscriminatorConfig(channels=1, size=8, base=n.base, start=n.start,
                                                        spectral_norm=n.spectral_norm))
        return g, d
    means, _ = mixture(cfg.data.dataset)
    dim = means.shape[1]
    g = MLPGenerator(MLPGeneratorConfig(z_dim=n.z_dim, out_features=dim, hidden=n.hidden))
    d = MLPDiscriminator(MLPDiscriminatorConfig(in_features=dim, hidden=n.hidden, spectral_norm=n.spectral_norm))
    return g, d


class _Task:
    """The dataset side of a run: real batches, and the scores of generated samples."""

    def __init__(self, cfg: GANRunConfig, classifier: nn.Module | None = None):
        self.cfg = cfg
        self.digits = cfg.data.dataset == "digits"
        if self.digits:
            from agents.gan.digits import DigitsScorer, load_digits

            data = load_digits()
            self.images = data["x_train"]  # [N, 1, 8, 8] in [-1, 1]
            self.scorer = DigitsScorer(classifier, data)

    def real(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.digits:
            return self.images[rng.integers(0, len(self.images), n)]
        return sample_mixture(self.cfg.data.dataset, n, rng)

    def score(self, samples: np.ndarray) -> dict:
        if self.digits:
            return self.scorer(samples, min_count=self.cfg.eval.min_count)
        means, std = mixture(self.cfg.data.dataset)
        return mode_metrics(samples, means, std, min_count=self.cfg.eval.min_count)


def _summary(score: dict) -> dict:
    """The scalars of a score that go to metrics.jsonl and the progress bar."""
    if "fd_ratio" in score:
        return {"classes": score["classes"], "fd": score["fd"], "fd_ratio": score["fd_ratio"]}
    return {"modes": score["modes"], "high_quality": score["high_quality"]}


def _classifier(cfg: GANRunConfig) -> nn.Module | None:
    """The digits classifier of a new run: ``eval.classifier``, or one trained now (stored in the run)."""
    if cfg.data.dataset != "digits":
        return None
    from agents.gan.digits import load_classifier, train_classifier

    if cfg.eval.classifier:
        try:
            return load_classifier(cfg.eval.classifier)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"eval.classifier = {cfg.eval.classifier!r}: {exc}") from None
    log.info("training the digits classifier that scores this run (eval.classifier is empty)")
    model, result = train_classifier(seed=0)
    log.info("digits classifier: test accuracy %.4f", result["test_accuracy"])
    return model.eval()


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
    classifier = None if resume_path is not None else _classifier(cfg)
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
        classifier = _stored_classifier(cfg, ckpt)
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
    task = _Task(cfg, classifier)

    def checkpoint() -> None:
        rng_json, rng_tensors = rng_state()
        tensors = {**{f"g.{k}": v for k, v in g.state_dict().items()},
                   **{f"d.{k}": v for k, v in d.state_dict().items()}, **rng_tensors, "rng.noise": gen.get_state()}
        if classifier is not None:
            tensors.update({f"classifier.{k}": v for k, v in classifier.state_dict().items()})
        save_checkpoint(run.checkpoints, step, agent=AGENT_NAME, tensors=tensors,
                        optimizer={"g": opt_g.state_dict(), "d": opt_d.state_dict()},
                        state={"rng": rng_json, "data_rng": data_rng.bit_generator.state, "last": last},
                        config_toml=config_toml, keep=cfg.checkpoint.keep)

    bar = tqdm(total=t.steps, initial=step, unit="step", disable=not progress, file=sys.stderr, dynamic_ncols=True,
               desc=f"GAN {cfg.data.dataset}")
    start = step
    try:
        while step < t.steps and (stop_at is None or step < stop_at):
            real = torch.from_numpy(task.real(t.batch_size, data_rng)).to(device)
            losses = train_step(g, d, opt_g, opt_d, real, cfg, gen)
            step += 1
            bar.update(1)
            if step % 100 == 0:
                metrics.log(step, **losses)
            if step % cfg.eval.every == 0 or step == t.steps:
                score = task.score(generate(g, cfg.eval.samples, cfg, derive_seed(seed, "eval", step), device))
                last = {**score, "step": step}
                metrics.log(step, **_summary(score))
                bar.set_postfix({k: round(v, 3) for k, v in _summary(score).items()}, refresh=False)
            if step % cfg.checkpoint.every == 0 or step == t.steps:
                checkpoint()
        if step > start and not (run.checkpoints / f"step-{step:012d}").exists():
            checkpoint()  # an orderly stop between checkpoints keeps its work
    finally:
        bar.close()
        metrics.close()
    return {**last, "step": step}


# ---- evaluation and the picture ------------------------------------------------------------------------


def _stored_classifier(cfg: GANRunConfig, ckpt) -> nn.Module | None:
    """The digits classifier a checkpoint carries (tensors ``classifier.*``)."""
    if cfg.data.dataset != "digits":
        return None
    from agents.gan.digits import DigitsClassifier

    model = DigitsClassifier()
    load_module_state(model, ckpt.tensors, "classifier", source=ckpt.path)
    return model.eval()


def _load(path: str | Path) -> tuple[GANRunConfig, nn.Module, _Task, torch.device]:
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
    return cfg, g, _Task(cfg, _stored_classifier(cfg, ckpt)), torch.device("cpu")


def evaluate(checkpoint: str | Path, *, episodes: int | None = None, seed: int | None = None) -> dict:
    """Scores of ``episodes`` samples (default ``eval.samples``): modes covered and high-quality fraction
    (mixtures), or classes covered and the Fréchet distance against its floor (digits)."""
    cfg, g, task, device = _load(checkpoint)
    n = int(episodes or cfg.eval.samples)
    samples = generate(g, n, cfg, derive_seed(cfg.run.seed if seed is None else seed, "final-eval"), device)
    return {**task.score(samples), "dataset": cfg.data.dataset}


def watch(checkpoint: str | Path, out: str | Path, *, seed: int | None = None) -> dict:
    """A PNG scatter of 2,500 generated samples over the true modes (3 sd circles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg, g, task, device = _load(checkpoint)
    samples = generate(g, 2500, cfg, derive_seed(cfg.run.seed if seed is None else seed, "watch"), device)
    score = task.score(samples)
    if task.digits:
        fig = _digit_grid(samples[:100], task)
        fig.suptitle(f"DCGAN digits: {score['classes']}/10 classes, Fréchet distance {score['fd']:.2f} "
                     f"= {score['fd_ratio']:.2f} x the real-test floor", fontsize=9)
        return _save_png(fig, out, score)
    means, std = mixture(cfg.data.dataset)
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
    return _save_png(fig, out, score)


def _digit_grid(images: np.ndarray, task: _Task):
    """A 10x10 grid of 8x8 images, each titled with the classifier's label."""
    import matplotlib.pyplot as plt

    with torch.no_grad():
        labels = task.scorer.classifier(torch.as_tensor(images)).argmax(1).numpy()
    fig, axes = plt.subplots(10, 10, figsize=(6, 6.4))
    for ax, img, label in zip(axes.flat, images, labels):
        ax.imshow(img[0], cmap="gray_r", vmin=-1, vmax=1)
        ax.set_title(str(label), fontsize=6, pad=1)
        ax.axis("off")
    return fig


def _save_png(fig, out: str | Path, score: dict) -> dict:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(Path(out), buf.getvalue())
    return {**score, "out": str(out)}
