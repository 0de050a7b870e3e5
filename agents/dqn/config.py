"""DQN run config: one frozen dataclass per section of the TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlengine.config import check as _check, check_device

__all__ = ["CheckpointSection", "DQNConfig", "DQNRunConfig", "EnvSection", "EvalSection", "NetworkSection",
           "RunSection"]




@dataclass(frozen=True)
class RunSection:
    agent: str = "dqn"
    name: str = "dqn"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self):
        _check(self.agent == "dqn", "run.agent", f"this config is for the dqn agent, got {self.agent!r}")
        check_device(self.device)


@dataclass(frozen=True)
class EnvSection:
    kind: str = "atari"  # atari (ALE via games.atari) | gym (any gymnasium id with vector observations)
    id: str = "pong"
    num_envs: int = 8
    preset: str = "nature"  # atari only: nature | machado
    num_threads: int = 0  # atari only: C++ env threads; 0 = auto (on a CPU learner, the cores torch leaves free)

    def __post_init__(self):
        _check(self.kind in ("atari", "gym"), "env.kind", f"expected atari or gym, got {self.kind!r}")
        _check(self.num_envs >= 1, "env.num_envs", "must be at least 1")
        _check(self.num_threads >= 0, "env.num_threads", "must be >= 0 (0 = auto)")
        _check(self.preset in ("nature", "machado"), "env.preset", f"expected nature or machado, got {self.preset!r}")


@dataclass(frozen=True)
class NetworkSection:
    torso: str = "nature_cnn"  # nature_cnn | mlp
    hidden: tuple[int, ...] = (256, 256)  # mlp torso layers
    # dueling (Wang et al. 2016): the last fully connected layer (512 after the Nature CNN's convolutions, the
    # last of `hidden` for an MLP) is split into a value and an advantage stream of that width, Q = V + A - mean A
    dueling: bool = True
    head_hidden: int | None = None  # plain head: an extra hidden layer; dueling: the streams' width
    noisy: bool = False  # noisy nets (Fortunato et al. 2018): the head's linear layers learn their own noise
    sigma0: float = 0.5  # noisy nets: initial noise scale (sigma = sigma0 / sqrt(fan_in))

    def __post_init__(self):
        _check(self.torso in ("nature_cnn", "mlp"), "network.torso", f"expected nature_cnn or mlp, got {self.torso!r}")
        _check(self.sigma0 > 0, "network.sigma0", "must be > 0")
        _check(all(h > 0 for h in self.hidden), "network.hidden", "layer sizes must be positive")


@dataclass(frozen=True)
class DQNConfig:
    total_steps: int = 10_000_000  # agent steps (Atari: 4 frames each with the presets' frame skip; 10M = 40M frames)
    lr: float = 1e-4
    adam_eps: float = 1.5e-4
    gamma: float = 0.99
    batch_size: int = 32
    buffer_size: int = 1_000_000
    learning_starts: int = 80_000
    train_every: int = 4  # environment steps per gradient update
    target_update_every: int = 8_000  # environment steps between hard target updates (used when tau == 1)
    tau: float = 1.0  # < 1: soft (Polyak) target update after every gradient update
    double: bool = True
    huber: bool = True
    grad_clip: float = 10.0
    eps_start: float = 1.0
    eps_end: float = 0.01
    eps_decay_steps: int = 250_000
    n_step: int = 1
    prioritized: bool = False
    alpha: float = 0.6
    beta0: float = 0.4  # annealed linearly to 1 over total_steps
    amp: bool = True  # bf16 autocast of the torso on GPU (ignored on CPU); the head and the loss stay float32
    optimizer: str = "adam"  # adam | rmsprop (Nature DQN: centred RMSProp, lr 2.5e-4, alpha 0.95, eps 0.01)
    rmsprop_alpha: float = 0.95
    rmsprop_eps: float = 0.01
    # distributional (C51, Bellemare et al. 2017): a categorical return distribution on num_atoms atoms
    # evenly spaced over [v_min, v_max], cross-entropy to the projected n-step Bellman target
    distributional: bool = False
    num_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0

    def __post_init__(self):
        _check(self.optimizer in ("adam", "rmsprop"), "dqn.optimizer",
               f"expected adam or rmsprop, got {self.optimizer!r}")
        _check(0 < self.rmsprop_alpha < 1 and self.rmsprop_eps > 0, "dqn.rmsprop_alpha",
               "need 0 < rmsprop_alpha < 1 and rmsprop_eps > 0")
        _check(self.num_atoms >= 2, "dqn.num_atoms", "must be at least 2")
        _check(self.v_min < self.v_max, "dqn.v_min", f"must be below dqn.v_max, got {self.v_min} >= {self.v_max}")
        for key in ("total_steps", "batch_size", "buffer_size", "train_every", "target_update_every",
                    "eps_decay_steps", "n_step"):
            _check(getattr(self, key) >= 1, f"dqn.{key}", "must be at least 1")
        _check(self.learning_starts >= 0, "dqn.learning_starts", "must be >= 0")
        _check(self.lr > 0, "dqn.lr", "must be > 0")
        _check(0 <= self.gamma <= 1, "dqn.gamma", "must be in [0, 1]")
        _check(0 < self.tau <= 1, "dqn.tau", "must be in (0, 1]")
        _check(0 <= self.eps_end <= self.eps_start <= 1, "dqn.eps_start", "need 0 <= eps_end <= eps_start <= 1")
        _check(self.grad_clip > 0, "dqn.grad_clip", "must be > 0")
        _check(0 <= self.alpha and 0 <= self.beta0 <= 1, "dqn.alpha", "need alpha >= 0 and beta0 in [0, 1]")

    def epsilon(self, step: int) -> float:
        """Linear decay from eps_start to eps_end over eps_decay_steps environment steps."""
        frac = min(step / self.eps_decay_steps, 1.0)
        return self.eps_start + frac * (self.eps_end - self.eps_start)

    def beta(self, step: int) -> float:
        return self.beta0 + min(step / self.total_steps, 1.0) * (1.0 - self.beta0)


@dataclass(frozen=True)
class EvalSection:
    every_steps: int = 250_000
    episodes: int = 10
    epsilon: float | None = None  # None: the preset's protocol (0.05 nature, 0.001 otherwise; 0 for gym envs)
    stop_at_return: float | None = None  # end training once an evaluation's mean return reaches this

    def __post_init__(self):
        _check(self.every_steps >= 1, "eval.every_steps", "must be at least 1")
        _check(self.episodes >= 1, "eval.episodes", "must be at least 1")
        _check(self.epsilon is None or 0 <= self.epsilon <= 1, "eval.epsilon", "must be in [0, 1]")


@dataclass(frozen=True)
class CheckpointSection:
    every_steps: int = 250_000
    keep: int = 3
    save_replay: bool = False  # also store the replay buffer (large for Atari)

    def __post_init__(self):
        _check(self.every_steps >= 1, "checkpoint.every_steps", "must be at least 1")
        _check(self.keep >= 1, "checkpoint.keep", "must be at least 1")


@dataclass(frozen=True)
class DQNRunConfig:
    run: RunSection = field(default_factory=RunSection)
    env: EnvSection = field(default_factory=EnvSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    dqn: DQNConfig = field(default_factory=DQNConfig)
    eval: EvalSection = field(default_factory=EvalSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)

    def __post_init__(self):
        if self.env.kind == "gym" and self.network.torso == "nature_cnn":
            raise ValueError("network.torso: nature_cnn needs Atari frames; use torso = \"mlp\" for env.kind = \"gym\"")
