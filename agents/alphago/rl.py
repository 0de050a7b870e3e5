"""AlphaGo's RL policy (Silver et al. 2016): policy-gradient self-play against a pool of earlier selves.

Read top to bottom: the start (an SL checkpoint or random weights), the update (PPO-style or AlphaGo's
REINFORCE), the run (``_RLRun``: its state, games, gate, iteration and checkpoint), ``train``, evaluation.

- **Start.** ``rl.init`` names an SL policy checkpoint (or run directory); the RL policy starts as a copy,
  with that checkpoint's network.  ``init = ""`` starts from random weights (small boards).
- **Games.** ``rlengine.runtime.ActorPool`` runs ``PolicyGamesWorker`` (``agents.alphago.policy_games``)
  in-process or as Ray actors.  A task is ``runtime.games_per_task`` games of the learner against one
  opponent from the pool, colours alternating; the games come back as moves, each with the mask it was
  sampled from and its behaviour log-probability log pi_old(a_t | s_t) (at ``rl.temperature``).
- **Opponents** (``rl.opponents``).  ``latest_half`` (the default): each task plays the pool's newest
  snapshot with probability 1/2, else a snapshot drawn uniformly from the whole pool (the newest
  included), so the newest gets 1/2 + 1/(2 |pool|) of the tasks however long the pool grows, and old,
  weak snapshots cannot take over a long run.  ``uniform``: AlphaGo's, uniform over the pool.
- **Pool.** It starts with the initial policy and gains a snapshot every ``rl.pool_every`` iterations
  (AlphaGo: 500).  Snapshots are policy checkpoints under ``runs/<name>/pool/``, so each one is also a
  ``policy:`` player.
- **Gating** (``rl.gate = "elo0=0,elo1=35"``, off by default), as Leela Zero gates its networks: a new
  snapshot joins the pool only when it passes a sequential probability ratio test
  (``rlengine.ratings.SPRT``) against the current *best* network, in games on the same actors (both
  sides sampling at ``rl.temperature``, at most ``rl.gate_games``).  A snapshot that passes becomes the
  best (``runs/<name>/best`` names it); one that fails or stays undecided is kept on disk but never
  played against.  So the opponents the actors play are always promoted networks.  The learner itself
  keeps training its own line either way (a policy gradient needs its own games).
- **Update.** z = +1/-1 is the terminal reward from the learner's side; only the learner's own (non-pass)
  moves enter, and p = pi(. | s_t) is softmax(logits / T) (T = ``rl.temperature``, the policy the actors
  sample) over the moves that were sensible when the move was sampled (the mask comes back with the
  game).  The advantage is A_t = z - b, with b = 0, the minibatch's mean z, or (``rl.baseline =
  "value"``) v(s_t) of a trained value network (``rl.value``), which takes the outcome expected from
  each position out of the advantage and so lowers the update's variance.  ``rl.loss`` picks the loss:

  - ``reinforce`` (AlphaGo's): loss = -(1/n) sum over games i and the learner's moves t of
    A_t log p(a_t | s_t), n = the games of the minibatch (AlphaGo's n = 128).  No ratio, no clipping,
    no entropy or KL term (``rl.clip``, ``rl.entropy_coef`` and ``rl.kl_coef`` are not used).
  - ``ppo`` (the default): the mean over the minibatch's S learner moves of the clipped surrogate
    min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t), rho_t = p(a_t | s_t) / pi_old(a_t | s_t) against
    the behaviour probability the actor returned, eps = ``rl.clip``; plus ``rl.entropy_coef`` times the
    mean entropy of p, minus ``rl.kl_coef`` times the mean KL(p || p_init) to the starting policy (kept
    frozen on the learner).  A game played by the current weights has rho = 1, so its gradient is
    REINFORCE's per move; a stale one (older weights, see Asynchrony) is importance-weighted, and
    clipped where the weights moved away from it.

  Both clip the gradient norm at ``rl.grad_clip`` (0 = off), and take one optimiser step a minibatch.
  Logged each iteration: ``entropy`` (mean over the learner's moves), ``grad_norm`` (before clipping),
  ``kl`` (the mean KL(p_before || p_after) of the step on the minibatch's moves), ``clip_fraction``
  (moves whose ratio left [1 - eps, 1 + eps]) and, with ``rl.kl_coef``, ``kl_init``.
- **BatchNorm and dropout.** The learner computes its forward in eval mode, as the actors do, so the
  probabilities it differentiates are those the actors sampled from: a ResNet's BatchNorm uses (and
  keeps frozen) the running statistics of its start, and a Transformer drops nothing.
- **Asynchrony.** Actors keep playing while the learner updates, so a game may have been played by
  an earlier weights version.  The version (the learner's iteration when the weights were published)
  is recorded with every game, and ``staleness`` (iterations behind the learner, mean over the
  minibatch) is logged.
- **Outputs.** ``checkpoints/`` (weights, optimiser, counters, the pool, RNG states, config),
  ``games/`` (every iteration's games as ``shard-<iteration>-<start>.npz``, one game per
  ``log.sgf_every`` iterations as SGF), ``metrics.jsonl`` and ``tb/``.
- **Resume.** Re-running the same command resumes from the newest checkpoint.  Games of iterations after
  it (a run killed between checkpoints) are moved to ``games/orphaned/``, so each iteration's games are
  under ``games/`` once.  ``rl.iterations`` (extend a finished run), ``run.device`` and the ``runtime``
  keys other than ``games_per_task`` may change on a resume; any other change is refused.
  ``runtime.address`` (``auto`` or ``HOST:PORT``) joins a Ray cluster; ``--address`` overrides it.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from agents.alphago.checkpoint import load_policy, load_value, policy_tensors, resume_training, save_training
from agents.alphago.config import RLRunConfig, RLSection
from agents.alphago.nets import build_policy_net
from agents.alphago.policy_games import PolicyGamesWorker
from games.go.features import encode_games
from rlengine.config import ConfigError, to_toml
from rlengine.ratings import parse_sprt
from rlengine.runtime import (
    ActorPool,
    CheckpointError,
    MetricsLogger,
    RunDir,
    atomic_write_bytes,
    atomic_write_text,
    connect_ray,
    find_checkpoint,
    pick_device,
    save_checkpoint,
)
from rlengine.seeding import derive_seed, seed_everything

__all__ = ["AGENT_NAME", "MAY_CHANGE", "draw_opponent", "evaluate", "policy_loss", "train", "update"]

log = logging.getLogger(__name__)

AGENT_NAME = "alphago_rl"
LEARNER = "learner"
_CHUNK = 1024  # positions per forward/backward chunk of an update (bounds the learner's memory)
# the config keys a resume may change (everything else must match the run directory's config.toml)
MAY_CHANGE = ("rl.iterations", "run.device", "runtime.address", "runtime.backend", "runtime.num_cpus",
              "runtime.num_actors", "runtime.cpus_per_actor", "runtime.max_in_flight", "runtime.max_retries")


# ---- the start ---------------------------------------------------------------------------------------


def resolve_init(cfg: RLRunConfig) -> tuple[RLRunConfig, dict[str, torch.Tensor] | None]:
    """(config with the init checkpoint's network, its weights), or (cfg, None) for a random start.
    ConfigError names ``rl.init`` when the checkpoint is missing, unreadable or for another board size."""
    if not cfg.rl.init:
        return cfg, None
    try:
        init_cfg, net, _ = load_policy(cfg.rl.init, device="cpu")
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        raise ConfigError(f"rl.init = {cfg.rl.init!r}: {exc}") from None
    if init_cfg.board_size != cfg.game.board_size:
        raise ConfigError(f"rl.init = {cfg.rl.init!r}: a policy for {init_cfg.board_size}x{init_cfg.board_size} "
                          f"boards, but game.board_size is {cfg.game.board_size}")
    if init_cfg.network != cfg.network:
        log.info("rl.init: the network comes from %s (%s)", cfg.rl.init, init_cfg.network)
    return dataclasses.replace(cfg, network=init_cfg.network), net.state_dict()


def numpy_weights(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().float().cpu().numpy() if v.is_floating_point() else v.detach().cpu().numpy()
            for k, v in net.state_dict().items()}


def _baseline_net(cfg: RLRunConfig, device: torch.device):
    """(value network, its encoder) for ``rl.baseline = "value"``, else (None, None); ConfigError names rl.value."""
    if cfg.rl.baseline != "value":
        return None, None
    try:
        vcfg, vnet, _ = load_value(cfg.rl.value, device=str(device))
    except (CheckpointError, FileNotFoundError, OSError) as exc:
        raise ConfigError(f"rl.value = {cfg.rl.value!r}: {exc}") from None
    if vcfg.board_size != cfg.game.board_size:
        raise ConfigError(f"rl.value = {cfg.rl.value!r}: a value network for {vcfg.board_size}x{vcfg.board_size} "
                          f"boards, but game.board_size is {cfg.game.board_size}")
    return vnet, vcfg.network.encoder


def _load_snapshot(pool_dir: Path, iteration: int) -> dict[str, np.ndarray]:
    _, net, _ = load_policy(pool_dir / f"step-{iteration:012d}", device="cpu")
    return numpy_weights(net)


# ---- the update ----------------------------------------------------------------------------------------


def _log_policy(logits: torch.Tensor, masks: torch.Tensor, temperature: float) -> torch.Tensor:
    """log softmax(logits / temperature) over ``masks`` (bool [B, M]): the policy the actors sample."""
    return torch.log_softmax((logits.float() / temperature).masked_fill(~masks, float("-inf")), dim=1)  # [B, M]


def policy_loss(logits: torch.Tensor, masks: torch.Tensor, actions: torch.Tensor, advantages: torch.Tensor,
                behaviour: torch.Tensor, *, rl: RLSection, denominator: float,
                init_logits: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """(the loss of a chunk of the learner's moves, divided by ``denominator``; its sums) for ``rl.loss``.

    ``logits`` [B, M] (raw, before the temperature), ``masks`` bool [B, M] (the moves the actor sampled
    from), ``actions`` int64 [B], ``advantages`` [B], ``behaviour`` [B] (the actor's log-probabilities of
    ``actions``), ``init_logits`` [B, M] (the starting policy's, for ``rl.kl_coef``).  The denominator is
    the minibatch's games for ``reinforce`` and its learner moves for ``ppo`` (a per-move mean).  The sums
    (floats): ``entropy``, ``clipped`` (moves outside the clip range), ``kl_init``, ``logp``.
    """
    logp = _log_policy(logits, masks, rl.temperature)  # [B, M]
    logp0 = logp.masked_fill(~masks, 0.0)  # [B, M] (0 * -inf would be nan)
    chosen = logp.gather(1, actions[:, None])[:, 0]  # [B]
    entropy = -(logp.exp() * logp0).sum(1)  # [B]
    sums = {"entropy": float(entropy.detach().sum()), "logp": float(chosen.detach().sum()), "clipped": 0.0,
            "kl_init": 0.0}
    if rl.loss == "reinforce":
        return -(advantages * chosen).sum() / denominator, sums
    ratio = torch.exp(chosen - behaviour)  # [B]
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - rl.clip, 1 + rl.clip) * advantages)  # [B]
    objective = surrogate + rl.entropy_coef * entropy
    sums["clipped"] = float(((ratio - 1).abs() > rl.clip).sum())
    if init_logits is not None:
        logq = _log_policy(init_logits, masks, rl.temperature)  # [B, M]
        kl = (logp.exp() * (logp0 - logq.masked_fill(~masks, 0.0))).sum(1)  # [B] KL(p || p_init)
        objective = objective - rl.kl_coef * kl
        sums["kl_init"] = float(kl.detach().sum())
    return -objective.sum() / denominator, sums


def learner_samples(games: dict, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(events, game of each event, masks bool [S, M]) of the learner's own non-pass moves."""
    m = size * size
    events = np.flatnonzero(games["learner"] & (games["points"] != m))
    game_of = np.searchsorted(games["offsets"], events, side="right") - 1
    masks = np.unpackbits(games["masks"][events], axis=1, count=m).astype(bool)
    return events, game_of, masks


def _forward(net: torch.nn.Module, x: torch.Tensor, size: int, amp: bool) -> torch.Tensor:
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp and x.device.type == "cuda"):
        out = net(x)
    return (out[0] if isinstance(out, tuple) else out)[:, :size * size].float()  # [B, M]


def update(net: torch.nn.Module, optimizer: torch.optim.Optimizer, games: dict, *, rl: RLSection, encoder: str,
           size: int, device: torch.device, amp: bool = False, init_net: torch.nn.Module | None = None,
           value_net: torch.nn.Module | None = None, value_encoder: str | None = None) -> dict:
    """One step of ``rl.loss`` on a minibatch of games (``concat_games`` of the tasks' results).

    ``init_net`` is the frozen starting policy (``rl.kl_coef``); ``value_net`` (reading ``value_encoder``
    planes) gives the baseline v(s_t) when ``rl.baseline == "value"``.  Every forward runs in eval mode
    (see BatchNorm in the module's docstring).  Returns the step's figures: loss, entropy, kl, grad_norm,
    clip_fraction, positions, baseline (and kl_init).
    """
    events, game_of, masks = learner_samples(games, size)
    z = games["z"].astype(np.float32)
    num_games, num_moves = len(z), len(events)
    planes = encode_games(games["points"], games["colors"], games["offsets"], game_of, events,
                          np.zeros(num_moves, np.int64), encoder, size)  # [S, P, N, N]
    if rl.baseline == "value":
        vplanes = planes if value_encoder == encoder else encode_games(
            games["points"], games["colors"], games["offsets"], game_of, events, np.zeros(num_moves, np.int64),
            value_encoder, size)
        b_t = np.concatenate([_values(value_net, vplanes[lo:lo + _CHUNK], device)
                              for lo in range(0, num_moves, _CHUNK)] or [np.zeros(0, np.float32)])  # [S]
        adv = z[game_of] - b_t
        b = float(b_t.mean()) if num_moves else 0.0
    else:
        b = float(z.mean()) if rl.baseline == "mean" else 0.0
        adv = (z - b)[game_of]  # [S]
    actions = games["points"][events].astype(np.int64)  # [S]
    behaviour = games["logp"][events].astype(np.float32)  # [S]
    denominator = max(num_games if rl.loss == "reinforce" else num_moves, 1)
    use_init = init_net is not None and rl.loss == "ppo" and rl.kl_coef > 0
    net.eval()  # the actors' policy: BatchNorm on its running statistics, no dropout
    optimizer.zero_grad(set_to_none=True)
    loss_sum, sums, before = 0.0, {}, []
    chunks = [slice(lo, lo + _CHUNK) for lo in range(0, num_moves, _CHUNK)]
    for sl in chunks:
        x = torch.from_numpy(planes[sl]).to(device)
        m = torch.from_numpy(masks[sl]).to(device)
        logits = _forward(net, x, size, amp)
        init_logits = None
        if use_init:
            with torch.no_grad():
                init_logits = _forward(init_net, x, size, amp)
        loss, part = policy_loss(logits, m, torch.from_numpy(actions[sl]).to(device),
                                 torch.from_numpy(adv[sl]).to(device), torch.from_numpy(behaviour[sl]).to(device),
                                 rl=rl, denominator=denominator, init_logits=init_logits)
        loss.backward()
        loss_sum += float(loss.detach())
        sums = {k: sums.get(k, 0.0) + v for k, v in part.items()}
        before.append(_log_policy(logits.detach(), m, rl.temperature))
    params = [p for p in net.parameters() if p.grad is not None]
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, rl.grad_clip if rl.grad_clip > 0 else float("inf"))) \
        if params else 0.0
    optimizer.step()
    kl = 0.0
    with torch.no_grad():  # KL(p_before || p_after) on the same moves: how far this step moved the policy
        for sl, logp_old in zip(chunks, before):
            m = torch.from_numpy(masks[sl]).to(device)
            logp_new = _log_policy(_forward(net, torch.from_numpy(planes[sl]).to(device), size, amp), m,
                                   rl.temperature)
            kl += float((logp_old.exp() * (logp_old - logp_new).masked_fill(~m, 0.0)).sum())
    n = max(num_moves, 1)
    out = {"loss": loss_sum, "entropy": sums.get("entropy", 0.0) / n, "positions": num_moves, "baseline": b,
           "kl": kl / n, "grad_norm": grad_norm, "clip_fraction": sums.get("clipped", 0.0) / n}
    if use_init:
        out["kl_init"] = sums["kl_init"] / n
    return out


@torch.inference_mode()
def _values(value_net: torch.nn.Module, planes: np.ndarray, device: torch.device) -> np.ndarray:
    return value_net(torch.from_numpy(planes).to(device)).float().cpu().numpy()


def concat_games(results: list[dict]) -> dict:
    """One minibatch from the tasks' results (offsets re-based)."""
    out = {k: np.concatenate([r[k] for r in results]) for k in
           ("points", "colors", "learner", "masks", "logp", "learner_color", "score", "z", "capped")}
    offsets = [np.zeros(1, np.int64)]
    base = 0
    for r in results:
        offsets.append(r["offsets"][1:] + base)
        base += int(r["offsets"][-1])
    out["offsets"] = np.concatenate(offsets)
    return out


def draw_opponent(pool: list[int], scheme: str, rng: np.random.Generator) -> int:
    """The pool member (an iteration) a task plays: ``latest_half`` the newest with probability 1/2, else
    uniform over the pool; ``uniform`` uniform over the pool."""
    if scheme == "latest_half" and rng.random() < 0.5:
        return pool[-1]
    return pool[int(rng.integers(len(pool)))]


# ---- the run ----------------------------------------------------------------------------------------------


def _make_optimizer(net: torch.nn.Module, cfg: RLRunConfig) -> torch.optim.Optimizer:
    r = cfg.rl
    if r.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    return torch.optim.SGD(net.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)


def _pool_key(iteration: int) -> str:
    return f"pool-{iteration}"


def _save_npz(path: Path, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _per_game(results: list[dict], values: list, dtype=None) -> np.ndarray:
    """[G]: each task's value repeated for each of its games."""
    return np.concatenate([np.full(len(x["z"]), v, dtype) for x, v in zip(results, values)])


def _set_aside(games_dir: Path, iteration: int) -> int:
    """Move the games of the iterations after ``iteration`` (the checkpoint resumed from) into
    ``games/orphaned/``: the resumed run plays those iterations again.  Returns how many files moved."""
    moved = []
    for path in games_dir.iterdir():
        parts = path.name.split("-")
        if path.is_file() and len(parts) > 1 and parts[1].isdigit() and (
                (parts[0] == "shard" and int(parts[1]) > iteration)  # shard-<iteration after the update>
                or (parts[0] == "iter" and int(parts[1]) >= iteration)):  # iter-<iteration before it>
            moved.append(path)
    if moved:
        (games_dir / "orphaned").mkdir(exist_ok=True)
        for path in moved:
            os.replace(path, games_dir / "orphaned" / path.name)
        log.info("moved %d file(s) of iterations after %d to %s", len(moved), iteration, games_dir / "orphaned")
    return len(moved)


class _RLRun:
    """One RL run's state and steps: the run directory, the learner (network, optimiser, the frozen start
    and value networks), the opponent pool and its gate tests, the counters, and the actors once attached.

    ``iteration_step()`` is one learner update: gather the games (``_gather``, which ``submit``s tasks),
    keep them, update, publish the new weights, grow the pool (through ``run_gate`` when gating), log,
    checkpoint.  ``train`` builds it, attaches the actors and calls ``iteration_step`` until done."""

    def __init__(self, cfg: RLRunConfig, run_dir: str | Path, init_weights: dict | None):
        self.cfg, self.r, self.rt = cfg, cfg.rl, cfg.runtime
        self.size, self.encoder = cfg.game.board_size, cfg.network.encoder
        self.run = RunDir(run_dir)
        self.config_toml = to_toml(cfg)
        resume_path = self.run.prepare(self.config_toml, may_change=MAY_CHANGE)
        self.run.games.mkdir(exist_ok=True)
        self.pool_dir = self.run.path / "pool"
        self.seed = cfg.run.seed
        seed_everything(self.seed)
        self.device = pick_device(cfg.run.device)
        self.net = build_policy_net(cfg.network, self.size).to(self.device)
        self.optimizer = _make_optimizer(self.net, cfg)
        self.value_net, self.value_encoder = _baseline_net(cfg, self.device)
        self.counters = {"iteration": 0, "games": 0, "positions": 0, "tasks": 0}
        self.pool: list[int] = [0]  # the iterations whose snapshots are in the opponent pool
        self.gate = parse_sprt(self.r.gate) if self.r.gate else None
        self.gates: list[dict] = []  # the gate tests so far (gating only)
        self.opp_rng = np.random.default_rng(derive_seed(self.seed, "opponents"))
        self.last: dict = {}
        self.carry: list[tuple[dict, dict]] = []  # self-play results that came back during a gate test
        self.actors: ActorPool | None = None
        if resume_path is not None:
            state = resume_training(resume_path, agent=AGENT_NAME, net=self.net, optimizer=self.optimizer)
            self.counters.update(state["counters"])
            self.pool = list(state["pool"])
            self.gates = list(state.get("gates", []))
            self.opp_rng.bit_generator.state = state["opponent_rng"]
            self.last = state.get("last", {})
            _set_aside(self.run.games, self.iteration)
            log.info("resuming %s at iteration %d (%d games, pool of %d)", self.run.path, self.iteration,
                     self.counters["games"], len(self.pool))
        else:
            if init_weights is not None:
                self.net.load_state_dict(init_weights)
            self.snapshot(0)
        self.init_net = None
        if self.r.loss == "ppo" and self.r.kl_coef > 0:  # the starting policy, frozen: pool snapshot 0
            self.init_net = build_policy_net(cfg.network, self.size).to(self.device).eval().requires_grad_(False)
            self.init_net.load_state_dict({k: torch.from_numpy(v) for k, v in _load_snapshot(self.pool_dir, 0).items()})
        self.metrics = MetricsLogger(self.run, resume_step=self.iteration if resume_path is not None else None)
        self.in_flight = self.rt.num_actors * self.rt.max_in_flight
        self.stamp = time.strftime("%Y%m%d-%H%M%S")  # this driver start: a killed attempt's shards are kept apart
        self.start_iteration, self.moves, self.t0 = self.iteration, 0, time.perf_counter()

    @property
    def iteration(self) -> int:
        return self.counters["iteration"]

    # ---- weights on disk and to the actors -----------------------------------------------------------------
    def snapshot(self, iteration: int) -> None:
        save_checkpoint(self.pool_dir, iteration, agent=AGENT_NAME, tensors=policy_tensors(self.net), optimizer=None,
                        state={"board_size": self.size, "encoder": self.encoder, "iteration": iteration},
                        config_toml=self.config_toml, keep=0)

    def checkpoint(self) -> None:
        save_training(self.run.checkpoints, self.iteration, agent=AGENT_NAME, net=self.net, optimizer=self.optimizer,
                      state={"counters": self.counters, "pool": self.pool,
                             "opponent_rng": self.opp_rng.bit_generator.state, "last": self.last,
                             "board_size": self.size, "encoder": self.encoder, "gates": self.gates},
                      config_toml=self.config_toml, keep=self.cfg.log.keep)

    def checkpointed(self) -> bool:
        return (self.run.checkpoints / f"step-{self.iteration:012d}").exists()

    def attach(self, actors: ActorPool) -> None:
        """Publish the learner's weights and the pool's to ``actors``."""
        self.actors = actors
        actors.publish(LEARNER, numpy_weights(self.net), version=self.iteration)
        for it in self.pool:
            actors.publish(_pool_key(it), _load_snapshot(self.pool_dir, it))

    # ---- games ----------------------------------------------------------------------------------------------
    def submit(self) -> None:
        """Queue one self-play task: the learner against an opponent drawn by ``rl.opponents``."""
        c = self.counters
        drawn = draw_opponent(self.pool, self.r.opponents, self.opp_rng)
        opponent = _pool_key(drawn)
        task = {"learner": LEARNER, "opponent": opponent, "num_games": self.rt.games_per_task,
                "seed": derive_seed(self.seed, "task", c["tasks"]), "first_color": c["tasks"] % 2,
                "sgf": True, "index": c["tasks"], "newest": drawn == self.pool[-1]}
        c["tasks"] += 1
        self.actors.submit(task, needs=(LEARNER, opponent))

    def _gather(self) -> tuple[list[dict], list[dict]]:
        """(results, tasks) of at least ``rl.games_per_iteration`` self-play games, in completion order."""
        results, tasks, num = [], [], 0
        want_sgf = self.iteration % self.cfg.log.sgf_every == 0
        while num < self.r.games_per_iteration:
            if self.carry:
                task, res = self.carry.pop(0)
            else:
                while self.actors.num_pending < self.in_flight:
                    self.submit()
                _, task, res = self.actors.next_result()
            if want_sgf and not results:  # one game of the iteration as SGF
                atomic_write_text(self.run.games / f"iter-{self.iteration:06d}-task-{task['index']:08d}.sgf",
                                  res["sgf"])
            results.append(res)
            tasks.append(task)
            num += len(res["z"])
        return results, tasks

    def run_gate(self, candidate: int) -> dict:
        """SPRT of snapshot ``candidate`` against the best (the pool's newest), games fed in task order."""
        r, rt, actors = self.r, self.rt, self.actors
        best = self.pool[-1]
        pending: dict[int, dict] = {}
        scores: list[float] = []
        sent = fed = 0
        outstanding: set[int] = set()  # gate tasks submitted and not yet back
        verdict = self.gate.run([])

        def receive() -> tuple[dict, dict]:
            task_id, task, res = actors.next_result()
            if "gate" not in task:
                self.carry.append((task, res))  # self-play: used by the next iteration
            outstanding.discard(task_id)
            return task, res

        while verdict["decision"] == "inconclusive" and len(scores) < r.gate_games:
            while actors.num_pending < self.in_flight and sent * rt.games_per_task < r.gate_games:
                seed = derive_seed(self.seed, "gate", candidate, sent)
                outstanding.add(actors.submit(
                    {"learner": _pool_key(candidate), "opponent": _pool_key(best), "num_games": rt.games_per_task,
                     "first_color": sent % 2, "gate": candidate, "seed": seed, "index": sent},
                    needs=(_pool_key(candidate), _pool_key(best))))
                sent += 1
            task, res = receive()
            if "gate" not in task:
                continue
            pending[task["index"]] = res
            while fed in pending:
                scores += [(1.0 + float(z)) / 2 for z in pending.pop(fed)["z"]]
                fed += 1
            verdict = self.gate.run(scores[:r.gate_games])
        while outstanding:  # the games still out when the test decided: played, not counted
            receive()
        verdict = {**verdict, "candidate": candidate, "best": best}
        if verdict["decision"] == "pass":
            self.pool.append(candidate)
            atomic_write_text(self.run.path / "best", f"step-{candidate:012d}\n")
        else:
            actors.forget(_pool_key(candidate))
        self.gates.append(verdict)
        log.info("gate: iteration %d against best %d: %s after %d games (LLR %.2f, bounds %.2f, %.2f)",
                 candidate, best, verdict["decision"], verdict["games"], verdict["llr"], *verdict["bounds"])
        return verdict

    # ---- one iteration -----------------------------------------------------------------------------------
    def iteration_step(self) -> dict:
        """Gather a minibatch of games, keep it under games/, update, publish, grow the pool, log,
        checkpoint; returns the iteration's figures (also ``self.last``)."""
        c, r, cfg, actors = self.counters, self.r, self.cfg, self.actors
        tick = time.perf_counter()
        results, tasks = self._gather()
        waited = time.perf_counter() - tick  # the learner waiting for games (actors are busy meanwhile)
        batch = concat_games(results)
        versions = _per_game(results, [x["versions"][LEARNER] for x in results])
        _save_npz(self.run.games / f"shard-{self.iteration + 1:06d}-{self.stamp}.npz",
                  {**batch, "version": versions,
                   "opponent_iteration": _per_game(results, [int(t["opponent"].split("-")[1]) for t in tasks]),
                   "task_seed": _per_game(results, [t["seed"] for t in tasks], np.uint64),
                   "size": np.array(self.size), "komi": np.array(cfg.game.komi)})
        t_update = time.perf_counter()
        stats = update(self.net, self.optimizer, batch, rl=r, encoder=self.encoder, size=self.size,
                       device=self.device, amp=r.amp, init_net=self.init_net, value_net=self.value_net,
                       value_encoder=self.value_encoder)
        t_update = time.perf_counter() - t_update
        c["iteration"] += 1
        actors.publish(LEARNER, numpy_weights(self.net), version=self.iteration)
        c["games"] += len(batch["z"])
        c["positions"] += len(batch["points"])
        self.moves += len(batch["points"])
        gated = None
        if self.iteration % r.pool_every == 0:
            self.snapshot(self.iteration)
            actors.publish(_pool_key(self.iteration), numpy_weights(self.net))
            if self.gate is None:
                self.pool.append(self.iteration)
            else:
                gated = self.run_gate(self.iteration)
            if r.pool_max and len(self.pool) > r.pool_max:
                actors.forget(_pool_key(self.pool.pop(0)))
        elapsed = time.perf_counter() - self.t0
        lengths = np.diff(batch["offsets"])
        self.last = {
            "iteration": self.iteration, "games": c["games"], "win_rate": float((batch["z"] > 0).mean()),
            **{k: v for k, v in stats.items() if k != "positions"}, "mean_length": float(lengths.mean()),
            "games_per_s": len(batch["z"]) / max(time.perf_counter() - tick, 1e-9),
            "positions_per_s": self.moves / max(elapsed, 1e-9), "pool_size": len(self.pool),
            "staleness": float(self.iteration - 1 - versions.mean()), "capped": float(batch["capped"].mean()),
            "newest_opponent": float(np.mean([t["newest"] for t in tasks])),  # tasks against the pool's newest
            "wait_s": waited, "update_s": t_update, "lr": r.lr}
        if gated is not None:
            self.last.update(gate_llr=gated["llr"], gate_games=gated["games"],
                             gate_pass=float(gated["decision"] == "pass"), best=self.pool[-1])
        if self.iteration % cfg.log.every == 0:
            self.metrics.log(self.iteration, **self.last)
        if self.iteration % cfg.log.checkpoint_every == 0 or self.iteration >= r.iterations:
            self.checkpoint()
        return self.last

    def result(self) -> dict:
        return {**self.last, "iteration": self.iteration, "games": self.counters["games"],
                "pool": [int(x) for x in self.pool], **({"gates": self.gates} if self.gate is not None else {}),
                "device": str(self.device)}


def train(cfg: RLRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
          time_limit: float | None = None, address: str | None = None) -> dict:
    """Train (or resume) the RL policy in ``run_dir``; returns the last iteration's figures.

    ``address`` joins a Ray cluster (``auto`` or ``HOST:PORT``) instead of starting Ray in-process; it
    overrides ``runtime.address``.  ``stop_at`` ends the call at that iteration, ``time_limit`` after that
    many seconds; both write a checkpoint first.
    """
    cfg, init_weights = resolve_init(cfg)
    r, rt = cfg.rl, cfg.runtime
    address = address or rt.address or None
    state = _RLRun(cfg, run_dir, init_weights)
    factory = functools.partial(PolicyGamesWorker, network=dataclasses.asdict(cfg.network),
                                game=dataclasses.asdict(cfg.game), temperature=r.temperature)
    started_ray = connect_ray(address, num_cpus=rt.num_cpus, num_actors=rt.num_actors,
                              cpus_per_actor=rt.cpus_per_actor) if rt.backend == "ray" else False
    actors = ActorPool(factory, num_actors=rt.num_actors, backend=rt.backend, max_in_flight=rt.max_in_flight,
                       cpus_per_actor=rt.cpus_per_actor, max_retries=rt.max_retries, name="self-play actor")
    size = cfg.game.board_size
    bar = tqdm(total=r.iterations, initial=state.iteration, unit="it", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, desc=f"RL {size}x{size}")
    try:
        state.attach(actors)
        while state.iteration < r.iterations and (stop_at is None or state.iteration < stop_at) and (
                time_limit is None or time.perf_counter() - state.t0 < time_limit):
            last = state.iteration_step()
            bar.update(1)
            bar.set_postfix(win=f"{last['win_rate']:.2f}", ent=f"{last['entropy']:.2f}", kl=f"{last['kl']:.3f}",
                            len=f"{last['mean_length']:.0f}", gps=f"{last['games_per_s']:.1f}",
                            pool=len(state.pool), refresh=False)
        if state.iteration > state.start_iteration and not state.checkpointed():
            state.checkpoint()  # stopped between checkpoints (stop_at / time_limit): keep the work
    except KeyboardInterrupt:
        if state.iteration > state.start_iteration:
            state.checkpoint()
        raise
    finally:
        bar.close()
        state.metrics.close()
        actors.close()
        if started_ray:
            import ray

            ray.shutdown()
    return {**state.result(), "actors_replaced": actors.num_replaced}


# ---- evaluation ---------------------------------------------------------------------------------------


def evaluate(checkpoint: str | Path, *, episodes: int | None = None, seed: int | None = None,
             opponent: str | Path | None = None) -> dict:
    """Win rate of a checkpoint against its run's first pool member (the policy it started from), or
    ``opponent`` (another policy checkpoint), over ``episodes`` games (default 200) with colours
    alternating, both sampling at the run's temperature; Wilson 95% interval."""
    from rlengine.match import wilson_interval

    path = find_checkpoint(checkpoint)
    cfg_a, net_a, _ = load_policy(path, device="cpu")
    if opponent is None:
        opponent = path.parent.parent / "pool" / f"step-{0:012d}"
    cfg_b, net_b, _ = load_policy(opponent, device="cpu")
    if cfg_a.board_size != cfg_b.board_size:
        raise ValueError(f"{opponent} is for {cfg_b.board_size}x{cfg_b.board_size} boards, {path} for "
                         f"{cfg_a.board_size}x{cfg_a.board_size}")
    if cfg_a.network.encoder != cfg_b.network.encoder:
        raise ValueError(f"{opponent} reads {cfg_b.network.encoder} planes, {path} reads {cfg_a.network.encoder}")
    game = cfg_a.game if isinstance(cfg_a, RLRunConfig) else dataclasses.replace(RLRunConfig().game,
                                                                                  board_size=cfg_a.board_size)
    temperature = cfg_a.rl.temperature if isinstance(cfg_a, RLRunConfig) else 1.0
    worker = PolicyGamesWorker(network=dataclasses.asdict(cfg_a.network), game=dataclasses.asdict(game),
                               temperature=temperature)
    worker.load("a", 0, numpy_weights(net_a))
    worker.load("b", 0, numpy_weights(net_b))
    n = int(episodes or 200)
    res = worker.run({"learner": "a", "opponent": "b", "num_games": n, "seed": derive_seed(seed or 0, "eval")})
    wins, losses = int((res["z"] > 0).sum()), int((res["z"] < 0).sum())
    lo, hi = wilson_interval(wins, wins + losses)
    return {"games": n, "wins": wins, "losses": losses, "draws": n - wins - losses,
            "win_rate": wins / max(wins + losses, 1), "wilson95": [lo, hi], "checkpoint": str(path),
            "opponent": str(opponent)}
