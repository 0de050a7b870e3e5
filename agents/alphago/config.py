"""AlphaGo run configs (SL policy, RL policy): one frozen dataclass per section of the TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlengine.config import check as _check, check_device

__all__ = ["CheckpointSection", "DataSection", "EvalSection", "GameSection", "NetworkSection", "RLLogSection",
           "RLRunConfig", "RLRunSection", "RLSection", "RunSection", "RuntimeSection", "SLRunConfig", "TrainSection",
           "ValueDataSection", "ValueNetworkSection", "ValueRunConfig", "ValueRunSection"]

_ENCODERS = ("alphago48", "alphago49", "agz17")  # games.go.features.ENCODERS (checked again when encoding)
_KINDS = ("cnn", "resnet", "transformer")

def _check_torso(net) -> None:
    """The checks a policy and a value ``[network]`` section share: kind, and the transformer's heads."""
    _check(net.kind in _KINDS, "network.kind", f"expected one of {', '.join(_KINDS)}, got {net.kind!r}")
    _check(net.heads >= 1, "network.heads", "must be at least 1")
    _check(net.positions in ("rowcol", "relative"), "network.positions",
           f"expected rowcol or relative, got {net.positions!r}")
    if net.kind == "transformer":
        _check(net.filters % net.heads == 0, "network.heads",
               f"{net.heads} heads do not divide the token width network.filters = {net.filters}")


@dataclass(frozen=True)
class RunSection:
    agent: str = "alphago"
    name: str = "go19_sl"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self):
        _check(self.agent == "alphago", "run.agent", f"this config is for the alphago agent, got {self.agent!r}")
        check_device(self.device)

@dataclass(frozen=True)
class DataSection:
    # SGF file, directory, .tar.gz or .zip (relative to cwd); $VAR / ${VAR} come from the environment
    path: str = "${RLENGINE_DATA}/go/tom-9d-19x19.tar.gz"
    board_size: int = 19  # games of other sizes are skipped
    val_fraction: float = 0.02  # of games (split by game, fixed by split_seed)
    test_fraction: float = 0.02
    split_seed: int = 0
    max_games: int = 0  # 0 = every game of the source
    cache_dir: str = "runs/cache/sl-data"  # converted shards, keyed by source + size + split + max_games
    prefetch: int = 4  # batches prepared ahead by the sampler thread

    def __post_init__(self):
        _check(bool(self.path), "data.path", "must name an SGF file, directory or archive")
        _check(2 <= self.board_size <= 25, "data.board_size", f"must be in 2..25, got {self.board_size}")
        _check(0 <= self.val_fraction < 1, "data.val_fraction", "must be in [0, 1)")
        _check(0 <= self.test_fraction < 1, "data.test_fraction", "must be in [0, 1)")
        _check(self.val_fraction + self.test_fraction < 1, "data.val_fraction",
               "val_fraction + test_fraction must be < 1 (some games must be left for training)")
        _check(self.max_games >= 0, "data.max_games", "must be >= 0 (0 = all games)")
        _check(self.prefetch >= 1, "data.prefetch", "must be at least 1")

@dataclass(frozen=True)
class NetworkSection:
    # cnn (AlphaGo's policy CNN) | resnet (rlengine.nn.ResNetTower + PolicyHead)
    # | transformer (rlengine.nn.BoardTransformer, one token per point, + the resnet's PolicyHead)
    kind: str = "cnn"
    encoder: str = "alphago48"  # input planes, games.go.features.ENCODERS
    filters: int = 192  # k: channels of every hidden layer (transformer: the token width)
    layers: int = 13  # cnn: 5x5 first layer + (layers - 2) 3x3 layers + 1x1 output layer
    blocks: int = 6  # resnet: residual blocks; transformer: Transformer blocks
    heads: int = 4  # transformer: attention heads (they divide filters)
    positions: str = "relative"  # transformer: rowcol (learned row + column embeddings) | relative (+ attention bias)

    def __post_init__(self):
        _check_torso(self)
        _check(self.encoder in _ENCODERS, "network.encoder",
               f"unknown encoder {self.encoder!r}; known encoders: {', '.join(_ENCODERS)}")
        _check(self.filters >= 1, "network.filters", "must be at least 1")
        _check(self.layers >= 2, "network.layers", "must be at least 2 (the 5x5 input layer and the 1x1 output)")
        _check(self.blocks >= 0, "network.blocks", "must be >= 0")

@dataclass(frozen=True)
class TrainSection:
    total_steps: int = 200_000  # gradient steps (positions seen = steps * batch_size)
    batch_size: int = 256
    optimizer: str = "sgd"  # sgd (with momentum) | adam
    lr: float = 0.01  # 0.05 diverged on 19x19 with SGD + Nesterov (see configs/go19_sl.toml)
    momentum: float = 0.9  # sgd only
    nesterov: bool = True  # sgd only
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # constant | step | cosine (after linear warmup)
    warmup_steps: int = 1_000
    step_every: int = 80_000  # schedule = step: multiply lr by step_gamma every step_every steps
    step_gamma: float = 0.5
    min_lr_fraction: float = 0.01  # schedule = cosine: final lr = lr * min_lr_fraction
    grad_clip: float = 0.0  # 0 = no clipping
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    log_every: int = 100

    def __post_init__(self):
        for key in ("total_steps", "batch_size", "step_every", "log_every"):
            _check(getattr(self, key) >= 1, f"train.{key}", "must be at least 1")
        _check(self.optimizer in ("sgd", "adam"), "train.optimizer", f"expected sgd or adam, got {self.optimizer!r}")
        _check(self.lr > 0, "train.lr", "must be > 0")
        _check(0 <= self.momentum < 1, "train.momentum", "must be in [0, 1)")
        _check(self.weight_decay >= 0, "train.weight_decay", "must be >= 0")
        _check(self.schedule in ("constant", "step", "cosine"), "train.schedule",
               f"expected constant, step or cosine, got {self.schedule!r}")
        _check(self.warmup_steps >= 0, "train.warmup_steps", "must be >= 0")
        _check(0 < self.step_gamma <= 1, "train.step_gamma", "must be in (0, 1]")
        _check(0 <= self.min_lr_fraction <= 1, "train.min_lr_fraction", "must be in [0, 1]")
        _check(self.grad_clip >= 0, "train.grad_clip", "must be >= 0 (0 = off)")

    def lr_at(self, step: int) -> float:
        """Learning rate for gradient step ``step`` (0-based): linear warmup, then the schedule."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return self.lr
        if self.schedule == "step":
            return self.lr * self.step_gamma ** (step // self.step_every)
        import math

        span = max(self.total_steps - self.warmup_steps, 1)
        frac = min((step - self.warmup_steps) / span, 1.0)
        low = self.lr * self.min_lr_fraction
        return low + 0.5 * (self.lr - low) * (1 + math.cos(math.pi * frac))

@dataclass(frozen=True)
class EvalSection:
    every_steps: int = 2_000  # validation every this many gradient steps (an "epoch" of this run)
    positions: int = 8_192  # fixed validation positions (symmetry 0); also the test sample of `rlengine eval`
    batch_size: int = 512

    def __post_init__(self):
        _check(self.every_steps >= 1, "eval.every_steps", "must be at least 1")
        _check(self.positions >= 1, "eval.positions", "must be at least 1")
        _check(self.batch_size >= 1, "eval.batch_size", "must be at least 1")

@dataclass(frozen=True)
class CheckpointSection:
    every_steps: int = 2_000
    keep: int = 3

    def __post_init__(self):
        _check(self.every_steps >= 1, "checkpoint.every_steps", "must be at least 1")
        _check(self.keep >= 1, "checkpoint.keep", "must be at least 1")

@dataclass(frozen=True)
class SLRunConfig:
    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)

    @property
    def board_size(self) -> int:
        return self.data.board_size

# ---- the RL policy run (agents.alphago.rl) ------------------------------------------------------------------

@dataclass(frozen=True)
class RLRunSection:
    agent: str = "alphago_rl"
    name: str = "go9_rl"
    seed: int = 0
    device: str = "auto"  # the learner's device: auto | cpu | cuda | cuda:N (actors infer on CPU)

    def __post_init__(self):
        _check(self.agent == "alphago_rl", "run.agent",
               f"this config is for the alphago_rl agent, got {self.agent!r}")
        check_device(self.device)

@dataclass(frozen=True)
class GameSection:
    board_size: int = 9
    komi: float = 7.5
    ko: str = "positional"  # positional | situational | simple
    allow_suicide: bool = False
    max_moves: int = 0  # the move cap of a game; 0 = 3*N*N (games.go.game.default_move_cap)

    def __post_init__(self):
        _check(2 <= self.board_size <= 25, "game.board_size", f"must be in 2..25, got {self.board_size}")
        _check(self.ko in ("positional", "situational", "simple"), "game.ko",
               f"expected positional, situational or simple, got {self.ko!r}")
        _check(self.max_moves >= 0, "game.max_moves", "must be >= 0 (0 = 3*N*N)")

@dataclass(frozen=True)
class RLSection:
    init: str = ""  # SL policy checkpoint or run directory to start from; "" = random init (small boards)
    iterations: int = 200  # learner updates (minibatches of games)
    games_per_iteration: int = 128  # n: games per REINFORCE minibatch (AlphaGo: 128)
    optimizer: str = "sgd"  # sgd | adam
    lr: float = 0.001  # AlphaGo: 0.001 (SGD)
    momentum: float = 0.0  # sgd only
    weight_decay: float = 0.0
    temperature: float = 1.0  # moves are sampled from softmax(logits / temperature), both sides; the learner
    #                           differentiates the same softmax(logits / temperature)
    # the loss (agents/alphago/rl.py): ppo (per-move mean of the clipped surrogate, + entropy bonus, - KL to the
    # start) | reinforce (AlphaGo's: sum over the learner's moves / games; clip, entropy_coef, kl_coef unused)
    loss: str = "ppo"
    clip: float = 0.2  # ppo: the importance ratio p / p_behaviour is clipped to [1 - clip, 1 + clip]
    entropy_coef: float = 0.01  # ppo: + entropy_coef * (mean entropy of the policy over the learner's moves)
    kl_coef: float = 0.0  # ppo: - kl_coef * mean KL(policy || starting policy), the start kept frozen; 0 = off
    opponents: str = "latest_half"  # latest_half (half the tasks against the newest snapshot) | uniform (AlphaGo)
    baseline: str = "none"  # none | mean (the mean reward of the minibatch) | value (v(s_t) of rl.value)
    value: str = ""  # baseline = value: the value-network checkpoint (agents.alphago.value)
    pool_every: int = 500  # a snapshot of the policy joins the opponent pool every K iterations (AlphaGo: 500)
    pool_max: int = 0  # the pool keeps at most this many snapshots (0 = all)
    grad_clip: float = 1.0  # the gradient's norm is clipped to this (0 = no clipping)
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    # gating: "" = off; "elo0=0,elo1=35[,alpha=0.05,beta=0.05]" = a snapshot joins the opponent pool (and
    # becomes the best, runs/<name>/best) only when it passes this SPRT against the current best
    gate: str = ""
    gate_games: int = 400  # the most games of one gate test (undecided at the cap: not promoted)

    def __post_init__(self):
        if self.gate:
            from rlengine.ratings import parse_sprt

            try:
                parse_sprt(self.gate)
            except ValueError as exc:
                _check(False, "rl.gate", str(exc).replace("--sprt", "SPRT"))
        _check(self.gate_games >= 1, "rl.gate_games", "must be at least 1")
        for key in ("iterations", "games_per_iteration", "pool_every"):
            _check(getattr(self, key) >= 1, f"rl.{key}", "must be at least 1")
        _check(self.optimizer in ("sgd", "adam"), "rl.optimizer", f"expected sgd or adam, got {self.optimizer!r}")
        _check(self.lr > 0, "rl.lr", "must be > 0")
        _check(0 <= self.momentum < 1, "rl.momentum", "must be in [0, 1)")
        _check(self.weight_decay >= 0, "rl.weight_decay", "must be >= 0")
        _check(self.temperature > 0, "rl.temperature", "must be > 0 (moves are sampled)")
        _check(self.loss in ("ppo", "reinforce"), "rl.loss", f"expected ppo or reinforce, got {self.loss!r}")
        _check(0 < self.clip < 1, "rl.clip", f"must be in (0, 1), got {self.clip}")
        _check(self.entropy_coef >= 0, "rl.entropy_coef", "must be >= 0 (0 = off)")
        _check(self.kl_coef >= 0, "rl.kl_coef", "must be >= 0 (0 = off)")
        _check(self.opponents in ("latest_half", "uniform"), "rl.opponents",
               f"expected latest_half or uniform, got {self.opponents!r}")
        _check(self.baseline in ("none", "mean", "value"), "rl.baseline",
               f"expected none, mean or value, got {self.baseline!r}")
        _check(bool(self.value) == (self.baseline == "value"), "rl.value",
               "names the value-network checkpoint exactly when rl.baseline = \"value\"")
        _check(self.pool_max >= 0, "rl.pool_max", "must be >= 0 (0 = keep every snapshot)")
        _check(self.grad_clip >= 0, "rl.grad_clip", "must be >= 0 (0 = off)")

@dataclass(frozen=True)
class RuntimeSection:
    backend: str = "ray"  # ray (actors) | local (the same worker in this process)
    address: str = ""  # "" = embedded Ray (ray.init() in-process); auto or HOST:PORT joins a cluster; --address wins
    num_cpus: int = 2  # CPUs of the embedded Ray instance
    num_actors: int = 2
    cpus_per_actor: float = 1.0  # also the actor's torch / numba thread count
    games_per_task: int = 32  # games one actor plays at once (one batched network call per ply)
    max_in_flight: int = 2  # tasks queued per actor
    max_retries: int = 3  # resubmissions of a task whose actor died

    def __post_init__(self):
        _check(self.backend in ("ray", "local"), "runtime.backend", f"expected ray or local, got {self.backend!r}")
        for key in ("num_cpus", "num_actors", "games_per_task", "max_in_flight"):
            _check(getattr(self, key) >= 1, f"runtime.{key}", "must be at least 1")
        _check(self.cpus_per_actor > 0, "runtime.cpus_per_actor", "must be > 0")
        _check(self.max_retries >= 0, "runtime.max_retries", "must be >= 0")

@dataclass(frozen=True)
class RLLogSection:
    every: int = 1  # iterations between metrics lines
    sgf_every: int = 10  # keep one game as SGF under games/ every this many iterations
    checkpoint_every: int = 5  # iterations between checkpoints
    keep: int = 3  # checkpoints kept (the opponent pool's snapshots are kept separately)

    def __post_init__(self):
        for key in ("every", "sgf_every", "checkpoint_every", "keep"):
            _check(getattr(self, key) >= 1, f"log.{key}", "must be at least 1")

@dataclass(frozen=True)
class RLRunConfig:
    run: RLRunSection = field(default_factory=RLRunSection)
    game: GameSection = field(default_factory=GameSection)
    network: NetworkSection = field(default_factory=lambda: NetworkSection(filters=64, layers=7))
    rl: RLSection = field(default_factory=RLSection)
    runtime: RuntimeSection = field(default_factory=RuntimeSection)
    log: RLLogSection = field(default_factory=RLLogSection)

    @property
    def board_size(self) -> int:
        return self.game.board_size

# ---- the value network run (agents.alphago.value, agents.alphago.value_data) -------------------------------

@dataclass(frozen=True)
class ValueRunSection:
    agent: str = "alphago_value"
    name: str = "go9_value"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        _check(self.agent == "alphago_value", "run.agent",
               f"this config is for the alphago_value agent, got {self.agent!r}")
        check_device(self.device)

@dataclass(frozen=True)
class ValueDataSection:
    """The value data (AlphaGo's recipe, ``agents.alphago.value_data``) and what the network trains on."""

    dir: str = "runs/go9_value_data"  # the generated games (shared by runs that train on the same data)
    sl: str = "runs/go9_sl_cpu"  # policy for moves 1..U-1 (a policy checkpoint or run directory)
    rl: str = "runs/go9_rl/pool/step-000000000100"  # policy for both sides from move U+1 to the end
    games: int = 50_000
    u_max: int = 80  # U ~ uniform 1..u_max (AlphaGo on 19x19: 450)
    temperature: float = 1.0  # moves of both policies are sampled from softmax(logits / T)
    test_fraction: float = 0.1  # of games (by a hash of the game's seed)
    seed: int = 0  # the games' seeds derive from it (not from run.seed: runs that train on the same data share it)
    positions: str = "one"  # what training reads: one (s_{U+1} of each game) | all (every position of each game)
    prefetch: int = 4

    def __post_init__(self):
        _check(bool(self.dir), "data.dir", "must name the folder of the generated games")
        _check(bool(self.sl) and bool(self.rl), "data.sl", "data.sl and data.rl must name policy checkpoints")
        _check(self.games >= 1, "data.games", "must be at least 1")
        _check(self.u_max >= 1, "data.u_max", "must be at least 1")
        _check(self.temperature > 0, "data.temperature", "must be > 0 (moves are sampled)")
        _check(0 < self.test_fraction < 1, "data.test_fraction", "must be in (0, 1)")
        _check(self.positions in ("one", "all"), "data.positions", f"expected one or all, got {self.positions!r}")
        _check(self.prefetch >= 1, "data.prefetch", "must be at least 1")

@dataclass(frozen=True)
class ValueNetworkSection:
    # cnn (AlphaGo's value network) | resnet (rlengine.nn.ResNetTower + ValueHead)
    # | transformer (rlengine.nn.BoardTransformer + the resnet's ValueHead)
    kind: str = "cnn"
    encoder: str = "alphago49"  # AlphaGo: the policy's 48 planes plus the colour to move
    filters: int = 64  # transformer: the token width
    layers: int = 7  # cnn: 5x5 first layer + (layers - 2) 3x3 layers, then the 1x1 convolution
    blocks: int = 6  # resnet: residual blocks; transformer: Transformer blocks
    heads: int = 4  # transformer: attention heads (they divide filters)
    positions: str = "relative"  # transformer: rowcol (learned row + column embeddings) | relative (+ attention bias)
    hidden: int = 256  # the fully connected layer before the tanh output

    def __post_init__(self):
        _check_torso(self)
        _check(self.encoder in _ENCODERS, "network.encoder",
               f"unknown encoder {self.encoder!r}; known encoders: {', '.join(_ENCODERS)}")
        _check(self.filters >= 1, "network.filters", "must be at least 1")
        _check(self.layers >= 2, "network.layers", "must be at least 2")
        _check(self.blocks >= 0, "network.blocks", "must be >= 0")
        _check(self.hidden >= 1, "network.hidden", "must be at least 1")

@dataclass(frozen=True)
class ValueRunConfig:
    run: ValueRunSection = field(default_factory=ValueRunSection)
    game: GameSection = field(default_factory=GameSection)
    data: ValueDataSection = field(default_factory=ValueDataSection)
    network: ValueNetworkSection = field(default_factory=ValueNetworkSection)
    train: TrainSection = field(default_factory=lambda: TrainSection(
        total_steps=20_000, batch_size=64, lr=0.003, warmup_steps=200, log_every=100))
    eval: EvalSection = field(default_factory=lambda: EvalSection(every_steps=1_000, positions=4_096))
    checkpoint: CheckpointSection = field(default_factory=lambda: CheckpointSection(every_steps=1_000))
    runtime: RuntimeSection = field(default_factory=RuntimeSection)

    @property
    def board_size(self) -> int:
        return self.game.board_size
