"""GAN run config: one frozen dataclass per TOML section."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlengine.config import check as _check, check_device

__all__ = ["CheckpointSection", "DataSection", "EvalSection", "GANRunConfig", "NetworkSection", "RunSection",
           "TrainSection"]

DATASETS = ("ring8", "grid25", "mixture2", "digits")


@dataclass(frozen=True)
class RunSection:
    agent: str = "gan"
    name: str = "gan"
    seed: int = 0
    device: str = "cpu"  # auto | cpu | cuda[:N]

    def __post_init__(self):
        _check(self.agent == "gan", "run.agent", f"this config is for the gan agent, got {self.agent!r}")
        check_device(self.device)


@dataclass(frozen=True)
class DataSection:
    # ring8: 8 Gaussians on a circle of radius 2, sd 0.02 (Metz et al. 2017; VEEGAN, PacGAN);
    # grid25: 25 Gaussians at {-4, -2, 0, 2, 4}^2, sd 0.05 (VEEGAN, PacGAN); mixture2: at (-2, 0) and (2, 0), sd 0.1;
    # digits: scikit-learn's 8x8 handwritten digits (training split), with a DCGAN generator and discriminator
    dataset: str = "ring8"

    def __post_init__(self):
        _check(self.dataset in DATASETS, "data.dataset",
               f"unknown dataset {self.dataset!r}; known: {', '.join(DATASETS)}")


@dataclass(frozen=True)
class NetworkSection:
    z_dim: int = 2
    hidden: tuple[int, ...] = (128, 128, 128)  # MLP generator and discriminator layers (the mixtures)
    base: int = 64  # DCGAN (digits): maps of the generator's last and the discriminator's first stage
    start: int = 4  # DCGAN (digits): side of the smallest maps (4 in the paper; 2 gives 8x8 images two stages)
    spectral_norm: bool = False  # on every discriminator layer (Miyato et al. 2018)

    def __post_init__(self):
        _check(self.z_dim >= 1, "network.z_dim", "must be at least 1")
        _check(self.base >= 1, "network.base", "must be at least 1")
        _check(self.start in (1, 2, 4), "network.start", f"must be 1, 2 or 4 (8x8 digits), got {self.start}")
        _check(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden), "network.hidden",
               "needs at least one positive layer size")


@dataclass(frozen=True)
class TrainSection:
    steps: int = 20_000  # generator updates (one discriminator update each)
    batch_size: int = 256
    lr: float = 2e-4  # Adam, both networks (Radford et al.)
    beta1: float = 0.5
    beta2: float = 0.999
    r1: float = 0.0  # gamma of the R1 penalty on real data, (gamma / 2) E|grad D(x)|^2 (Mescheder et al. 2018); 0 = off

    def __post_init__(self):
        _check(self.steps >= 1, "train.steps", "must be at least 1")
        _check(self.batch_size >= 2, "train.batch_size", "must be at least 2")
        _check(self.lr > 0, "train.lr", "must be > 0")
        _check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "train.beta1", "need 0 <= beta1, beta2 < 1")
        _check(self.r1 >= 0, "train.r1", "must be >= 0 (0 = off)")


@dataclass(frozen=True)
class EvalSection:
    every: int = 2_000  # generator updates between evaluations
    samples: int = 2_500  # samples per evaluation (the papers' count)
    min_count: int = 1  # a mode (digits: a class) is covered when at least this many samples fall in it
    # digits: the DigitsClassifier weights (safetensors) that score samples; "" = train one (reference task 3's
    # recipe, seed 0) at the start of the run. Either way it is stored in each checkpoint.
    classifier: str = ""

    def __post_init__(self):
        _check(self.every >= 1 and self.samples >= 1 and self.min_count >= 1, "eval.every",
               "eval.every, eval.samples and eval.min_count must be at least 1")


@dataclass(frozen=True)
class CheckpointSection:
    every: int = 5_000
    keep: int = 2

    def __post_init__(self):
        _check(self.every >= 1 and self.keep >= 1, "checkpoint.every", "every and keep must be at least 1")


@dataclass(frozen=True)
class GANRunConfig:
    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
