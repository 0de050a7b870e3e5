"""Double DQN with a target network, dueling head, PER and n-step options (Mnih et al. 2015;
van Hasselt et al. 2016; Wang et al. 2016; Schaul et al. 2016).

Read top to bottom: the network, acting, one gradient update, the training
loop (vector environments, replay, ε schedule, target updates, evaluation,
checkpoints, resume), evaluation and recording.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from collections import deque
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from agents.dqn.config import DQNRunConfig
from rlengine.config import ConfigError, load_config, to_toml
from rlengine.gif import GifWriter
from rlengine.nn import MLP, MLPConfig, NatureCNN, NatureCNNConfig, QHead, QHeadConfig
from rlengine.replay import ReplayBuffer, ReplayConfig
from rlengine.runtime import (
    CheckpointError,
    MetricsLogger,
    RunDir,
    load_checkpoint,
    load_module_state,
    pick_device,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from rlengine.seeding import derive_seed, seed_everything

__all__ = ["QNetwork", "evaluate_checkpoint", "make_envs", "project_distribution", "train", "watch_checkpoint"]

log = logging.getLogger(__name__)

LOG_EVERY_UPDATES = 250  # training metrics (loss, Q, ε, steps/s): one line each time the updates pass a multiple


# ---- network -------------------------------------------------------------------------------------


class QNetwork(nn.Module):
    """Torso (Nature CNN for frames, MLP for vectors) + Q head (dueling or plain).

    ``amp``: the torso runs under bf16 autocast (set by ``train`` from ``dqn.amp`` on CUDA).  The head, and
    so the Q-values, their argmax and the loss, stay in float32: bf16 keeps 8 bits of mantissa, so Q-values
    near 20 are 0.125 apart and the action gaps (a few hundredths) would vanish."""

    def __init__(self, cfg: DQNRunConfig, obs_shape: tuple[int, ...], num_actions: int):
        super().__init__()
        self.amp = False
        net = cfg.network
        # dueling (Wang et al. 2016): the torso's last fully connected layer (512 units after the Nature CNN's
        # convolutions, the last of network.hidden for an MLP) becomes two streams of that width, V and A;
        # network.head_hidden, when set, is the streams' width instead
        if net.torso == "nature_cnn":
            self.torso = NatureCNN(NatureCNNConfig(in_channels=obs_shape[0], fc=not net.dueling))
            split = 512
        else:
            hidden = net.hidden[:-1] if net.dueling and net.hidden else net.hidden
            self.torso = MLP(MLPConfig(in_features=int(np.prod(obs_shape)), hidden=hidden))
            split = net.hidden[-1] if net.hidden else None
        stream = (net.head_hidden or split) if net.dueling else net.head_hidden
        d = cfg.dqn
        atoms = d.num_atoms if d.distributional else 1
        self.head = QHead(QHeadConfig(in_features=self.torso.out_features, num_actions=num_actions, hidden=stream,
                                      dueling=net.dueling, num_atoms=atoms, noisy=net.noisy, sigma0=net.sigma0))
        # C51's support: the atoms' returns [K] (a buffer: it moves with the network, not trained)
        self.register_buffer("support", torch.linspace(d.v_min, d.v_max, atoms) if atoms > 1 else torch.zeros(1),
                             persistent=False)

    @property
    def distributional(self) -> bool:
        return self.head.config.num_atoms > 1

    def reset_noise(self) -> None:
        """New noise for the noisy layers (no-op without them)."""
        self.head.reset_noise()

    def head_output(self, obs: torch.Tensor) -> torch.Tensor:
        """Q ``[B, A]``, or with C51 the logits ``[B, A, K]``; float32."""
        if obs.dim() > 2 and not isinstance(self.torso, NatureCNN):
            obs = obs.flatten(1)
        with torch.autocast(obs.device.type, dtype=torch.bfloat16, enabled=self.amp):
            features = self.torso(obs)  # [B, F]
        return self.head(features.float())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:  # [B, *obs_shape] -> [B, A]: Q, the expected return
        out = self.head_output(obs)
        if self.distributional:
            return (out.softmax(-1) * self.support).sum(-1)  # [B, A]
        return out


# ---- environments ----------------------------------------------------------------------------------


def env_threads(cfg: DQNRunConfig, device: torch.device) -> int:
    """C++ worker threads of the Atari env (0: ale-py's default, one per core).

    ale-py's workers spin for a while after each step; on a CPU learner they take the cores that
    torch's update needs (measured on 2 cores: an 8-env step plus an update took 138 ms with two
    workers, 91 ms with one). So by default a CPU learner leaves torch its threads.
    """
    if cfg.env.num_threads or device.type != "cpu":
        return cfg.env.num_threads
    return max(1, (os.cpu_count() or 1) - torch.get_num_threads())


def make_envs(cfg: DQNRunConfig, *, num_envs: int, training: bool, seed: int | None, threads: int = 0):
    """A gymnasium-style vector env (NEXT_STEP autoreset) for the config's game."""
    if cfg.env.kind == "atari":
        from games.atari import make_atari_env

        return make_atari_env(cfg.env.id, num_envs=num_envs, preset=cfg.env.preset, training=training, seed=seed,
                              num_threads=threads)
    try:
        envs = gym.make_vec(cfg.env.id, num_envs=num_envs, vectorization_mode="sync")
    except gym.error.Error as exc:
        raise ConfigError(f"env.id: cannot make gymnasium env {cfg.env.id!r}: {exc}") from None
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        raise ConfigError(f"env.id: {cfg.env.id!r} has a {type(envs.single_action_space).__name__} action space; "
                          f"DQN needs Discrete")
    return envs


# ---- acting ------------------------------------------------------------------------------------------


@torch.no_grad()
def greedy_actions(net: nn.Module, obs: np.ndarray, device: torch.device) -> np.ndarray:
    q = net(torch.as_tensor(obs, device=device))  # [N, A]
    return q.argmax(1).cpu().numpy()


def epsilon_greedy(net: nn.Module, obs: np.ndarray, epsilon: float, num_actions: int, rng: np.random.Generator,
                   device: torch.device) -> np.ndarray:
    actions = greedy_actions(net, obs, device)
    explore = rng.random(len(actions)) < epsilon
    actions[explore] = rng.integers(num_actions, size=int(explore.sum()))
    return actions


# ---- one gradient update -----------------------------------------------------------------------------


def make_optimizer(online: nn.Module, cfg: DQNRunConfig) -> torch.optim.Optimizer:
    """Adam over the online network, the fused kernel where torch has one for the device (CPU and CUDA);
    or (``dqn.optimizer = "rmsprop"``) Nature DQN's centred RMSProp."""
    params = list(online.parameters())
    if cfg.dqn.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.dqn.lr, alpha=cfg.dqn.rmsprop_alpha, eps=cfg.dqn.rmsprop_eps,
                                   centered=True)
    try:
        return torch.optim.Adam(params, lr=cfg.dqn.lr, eps=cfg.dqn.adam_eps, fused=True)
    except (RuntimeError, TypeError):  # an older torch or another device: the default implementation
        return torch.optim.Adam(params, lr=cfg.dqn.lr, eps=cfg.dqn.adam_eps)



def update(online: nn.Module, target: nn.Module, optimizer: torch.optim.Optimizer, batch, cfg: DQNRunConfig,
           device: torch.device) -> tuple[float, np.ndarray, float]:
    """One gradient update on a batch: the (Double) DQN TD update, or C51's for a distributional network.
    Returns (loss, the per-sample priority: |td| or C51's cross-entropy, mean Q of the taken actions)."""
    d = cfg.dqn
    obs = torch.as_tensor(batch.obs, device=device)
    next_obs = torch.as_tensor(batch.next_obs, device=device)
    actions = torch.as_tensor(batch.actions, device=device).long()
    rewards = torch.as_tensor(batch.rewards, device=device).float()
    discounts = torch.as_tensor(batch.discounts, device=device).float()
    weights = torch.as_tensor(batch.weights, device=device).float()
    # the networks autocast their torsos themselves (QNetwork.amp); everything here is float32
    if getattr(online, "distributional", False):
        return _distributional_update(online, target, optimizer, cfg, obs, next_obs, actions, rewards, discounts,
                                      weights)
    with torch.no_grad():  # Q(s') needs no gradient: a batch of its own keeps backward to B samples
        next_target = target(next_obs)  # [B, A]
        next_action = online(next_obs).argmax(1) if d.double else next_target.argmax(1)  # [B]
        next_value = next_target.gather(1, next_action[:, None]).squeeze(1)  # [B]
        y = rewards + discounts * next_value  # [B]
    q = online(obs).gather(1, actions[:, None]).squeeze(1)  # [B]
    td = y - q
    per_sample = F.smooth_l1_loss(q, y, reduction="none") if d.huber else 0.5 * td.pow(2)
    loss = (weights * per_sample).mean()
    _step(online, target, optimizer, loss, cfg)
    return float(loss.detach()), td.detach().abs().float().cpu().numpy(), float(q.detach().mean())


def project_distribution(next_probs: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor,
                         support: torch.Tensor) -> torch.Tensor:
    """C51's target: the distribution ``next_probs`` [B, K] on ``support`` [K], shifted to
    ``rewards + discounts * z`` (clipped to the support's range) and split back onto the two nearest atoms
    in proportion to the distance; returns [B, K], each row summing to 1."""
    k = support.numel()
    v_min, v_max = float(support[0]), float(support[-1])
    dz = (v_max - v_min) / (k - 1)
    tz = (rewards[:, None] + discounts[:, None] * support[None, :]).clamp(v_min, v_max)  # [B, K]
    b = (tz - v_min) / dz  # [B, K] fractional atom index
    lower, upper = b.floor().long(), b.ceil().long()
    # a return exactly on an atom: all its mass there (lower == upper would otherwise give it none)
    lower = torch.where((upper > 0) & (lower == upper), lower - 1, lower)
    upper = torch.where((lower < k - 1) & (lower == upper), upper + 1, upper)
    out = torch.zeros_like(next_probs)
    offset = (torch.arange(len(next_probs), device=next_probs.device) * k)[:, None]  # [B, 1]
    out.view(-1).index_add_(0, (lower + offset).view(-1), (next_probs * (upper.float() - b)).view(-1))
    out.view(-1).index_add_(0, (upper + offset).view(-1), (next_probs * (b - lower.float())).view(-1))
    return out


def _distributional_update(online, target, optimizer, cfg: DQNRunConfig, obs, next_obs, actions, rewards, discounts,
                           weights) -> tuple[float, np.ndarray, float]:
    """C51: cross-entropy between the online distribution of the taken action and the projected n-step
    target; the next action is the online network's argmax of the expected return (Double) or the
    target's.  The per-sample cross-entropy is the priority (Rainbow uses it so)."""
    d = cfg.dqn
    support = online.support
    rows = torch.arange(len(actions), device=actions.device)
    with torch.no_grad():
        next_logits = target.head_output(next_obs)  # [B, A, K]
        next_probs = next_logits.softmax(-1)
        choose = online(next_obs) if d.double else (next_probs * support).sum(-1)  # [B, A]
        m = project_distribution(next_probs[rows, choose.argmax(1)], rewards, discounts, support)  # [B, K]
    logp = online.head_output(obs).log_softmax(-1)[rows, actions]  # [B, K]
    per_sample = -(m * logp).sum(-1)  # [B]
    loss = (weights * per_sample).mean()
    _step(online, target, optimizer, loss, cfg)
    q = (logp.detach().exp() * support).sum(-1)
    return float(loss.detach()), per_sample.detach().float().cpu().numpy(), float(q.mean())


def _step(online, target, optimizer, loss: torch.Tensor, cfg: DQNRunConfig) -> None:
    """Backward, clip, optimiser step, and the soft target update when ``tau < 1``."""
    d = cfg.dqn
    params = optimizer.param_groups[0]["params"]  # the online parameters, without walking the module tree
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(params, d.grad_clip, foreach=True)
    optimizer.step()
    if d.tau < 1.0:
        with torch.no_grad():
            torch._foreach_lerp_(list(target.parameters()), params, d.tau)  # Polyak, one kernel


# ---- RNG state for checkpoints -------------------------------------------------------------------------


def _rng_state(actor_rng: np.random.Generator) -> tuple[dict, dict[str, torch.Tensor]]:
    state, tensors = rng_state()
    state["actor"] = actor_rng.bit_generator.state
    return state, tensors


def _restore_rng(state: dict, tensors: dict[str, torch.Tensor], actor_rng: np.random.Generator) -> None:
    restore_rng_state(state, tensors)
    actor_rng.bit_generator.state = state["actor"]


def _finished_episodes(info: dict, rewards: np.ndarray, done: np.ndarray, real: np.ndarray, ep_return: np.ndarray,
                       ep_length: np.ndarray) -> list[tuple[float, int]]:
    """(return, length) of the games that ended on this step, in raw (unclipped) score.

    Atari training ends an *episode* at a lost life but a *game* at game over:
    the adapter reports the game's unclipped score in ``info["episode_return"]``
    when ``info["episode_end"]`` is set.  Other envs: sum the rewards.
    """
    ep_length[real] += 1
    if "episode_end" in info:
        ended = np.asarray(info["episode_end"], bool) & real
        returns = np.asarray(info["episode_return"], float)
    else:
        ep_return[real] += rewards[real]
        ended = done & real
        returns = ep_return
    out = [(float(returns[i]), int(ep_length[i])) for i in np.flatnonzero(ended)]
    ep_return[ended], ep_length[ended] = 0.0, 0
    return out


# ---- the training loop -----------------------------------------------------------------------------------


def train(cfg: DQNRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
          time_limit: float | None = None) -> dict:
    """Train (or resume) a DQN run in ``run_dir``; returns the last evaluation plus ``step``,
    ``updates`` and ``learning_steps_per_s`` (env steps/s since the first gradient update of this call).

    Re-running with the same config resumes from the last checkpoint: step
    counter, ε, optimizer state, target network, RNG states (and the replay
    buffer when ``checkpoint.save_replay``) continue.  ``stop_at`` ends the
    call early at that step, as a kill would (for tests), and ``time_limit``
    after that many seconds (for benchmarks and time-boxed jobs).
    """
    d = cfg.dqn
    run = RunDir(run_dir)
    config_toml = to_toml(cfg)
    resume_path = run.prepare(config_toml, may_change=("dqn.total_steps",))  # a finished run can be extended
    seed = cfg.run.seed
    seed_everything(seed)
    device = pick_device(cfg.run.device)
    num_envs = cfg.env.num_envs
    frame_skip = _frame_skip(cfg)  # papers quote budgets in frames: agent steps x frame skip

    envs = make_envs(cfg, num_envs=num_envs, training=True, seed=derive_seed(seed, "train-env"),
                     threads=env_threads(cfg, device))
    obs_shape = tuple(envs.single_observation_space.shape)
    num_actions = int(envs.single_action_space.n)
    online = QNetwork(cfg, obs_shape, num_actions).to(device)
    online.amp = d.amp and device.type == "cuda"
    target = copy.deepcopy(online).requires_grad_(False)
    optimizer = make_optimizer(online, cfg)
    stack = obs_shape[0] if cfg.env.kind == "atari" else 1
    replay = ReplayBuffer(
        ReplayConfig(capacity=d.buffer_size, n_step=d.n_step, gamma=d.gamma, prioritized=d.prioritized,
                     alpha=d.alpha, beta0=d.beta0),
        obs_shape=obs_shape[1:] if stack > 1 else obs_shape, obs_dtype=envs.single_observation_space.dtype,
        num_envs=num_envs, stack=stack, seed=derive_seed(seed, "replay"))
    actor_rng = np.random.default_rng(derive_seed(seed, "actor"))
    c = {"step": 0, "updates": 0, "episodes": 0, "update_debt": 0.0, "next_target": d.target_update_every,
         "next_eval": cfg.eval.every_steps, "next_checkpoint": cfg.checkpoint.every_steps, "refill_until": 0,
         "solved": False}
    recent: deque[float] = deque(maxlen=100)
    last_eval: dict = {}

    if resume_path is not None:
        ckpt = load_checkpoint(resume_path, with_replay=cfg.checkpoint.save_replay)
        load_module_state(online, ckpt.tensors, "online", source=ckpt.path)
        load_module_state(target, ckpt.tensors, "target", source=ckpt.path)
        if ckpt.optimizer is None:
            raise CheckpointError(f"{ckpt.path}: optimizer state missing")
        optimizer.load_state_dict(ckpt.optimizer)
        c.update(ckpt.state["counters"])
        recent.extend(ckpt.state.get("recent_returns", []))
        last_eval = ckpt.state.get("last_eval", {})
        _restore_rng(ckpt.state["rng"], ckpt.tensors, actor_rng)
        if ckpt.replay is not None:
            replay.load_state_dict(ckpt.replay)
            replay.break_episodes()  # the environments restart below: no episode runs on across the resume
        else:  # an empty buffer: refill before updating again, or the first updates overfit a few batches
            c["refill_until"] = c["step"] + min(d.learning_starts, d.buffer_size)
        log.info("resuming %s from step %d (%s)%s", run.path, c["step"], ckpt.path.name,
                 "" if ckpt.replay is not None else f"; replay refills until step {c['refill_until']}")
    metrics = MetricsLogger(run, resume_step=c["step"] if resume_path is not None else None)

    saved = {"step": c["step"]}  # the step of the newest checkpoint on disk

    def checkpoint() -> None:
        saved["step"] = c["step"]
        rng_json, rng_tensors = _rng_state(actor_rng)
        tensors = {f"online.{k}": v for k, v in online.state_dict().items()}
        tensors.update({f"target.{k}": v for k, v in target.state_dict().items()})
        tensors.update(rng_tensors)
        save_checkpoint(run.checkpoints, c["step"], agent="dqn", tensors=tensors, optimizer=optimizer.state_dict(),
                        state={"counters": c, "rng": rng_json, "recent_returns": list(recent),
                               "last_eval": last_eval, "obs_shape": list(obs_shape), "num_actions": num_actions},
                        config_toml=config_toml, replay=replay.state_dict() if cfg.checkpoint.save_replay else None,
                        keep=cfg.checkpoint.keep)

    obs, _ = envs.reset(seed=derive_seed(seed, "reset", c["step"]))
    prev_done = np.zeros(num_envs, bool)  # [N] the env's next step is an autoreset step
    ep_return = np.zeros(num_envs)
    ep_length = np.zeros(num_envs, np.int64)
    bar = tqdm(total=d.total_steps, initial=c["step"], unit="step", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.05)
    t0, step0 = time.perf_counter(), c["step"]
    learn_t0, learn_step0 = None, None
    loss = q_mean = float("nan")
    stop = _StopSignals()  # SIGINT / SIGTERM end the loop between steps; the work is saved below
    try:
        while c["step"] < d.total_steps and not c["solved"] and (stop_at is None or c["step"] < stop_at) and (
                time_limit is None or time.perf_counter() - t0 < time_limit) and stop.signal is None:
            updates_before = c["updates"]
            epsilon = d.epsilon(c["step"])
            if cfg.network.noisy:
                online.reset_noise()  # noisy nets explore through new noise at every step
            actions = epsilon_greedy(online, obs, epsilon, num_actions, actor_rng, device)
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            real = ~prev_done  # [N] transitions that are not autoreset steps
            replay.add(obs, actions, rewards, terminated, truncated, next_obs, mask=real)
            for ret, length in _finished_episodes(info, rewards, terminated | truncated, real, ep_return, ep_length):
                recent.append(ret)
                c["episodes"] += 1
                metrics.log(c["step"], train_return=ret, train_length=length)
            prev_done = terminated | truncated
            obs = next_obs
            new_steps = int(real.sum())
            c["step"] += new_steps
            bar.update(new_steps)

            if c["step"] >= max(d.learning_starts, c["refill_until"]) and len(replay) >= d.batch_size:
                if learn_t0 is None:
                    learn_t0, learn_step0 = time.perf_counter(), c["step"]
                c["update_debt"] += new_steps / d.train_every
                while c["update_debt"] >= 1.0:
                    batch = replay.sample(d.batch_size, beta=d.beta(c["step"]))
                    if cfg.network.noisy:
                        online.reset_noise()
                        target.reset_noise()
                    loss, td, q_mean = update(online, target, optimizer, batch, cfg, device)
                    if d.prioritized:
                        replay.update_priorities(batch.indices, td)
                    c["updates"] += 1
                    c["update_debt"] -= 1.0
            if d.tau >= 1.0 and c["step"] >= c["next_target"]:
                target.load_state_dict(online.state_dict())
                c["next_target"] += d.target_update_every

            if c["updates"] // LOG_EVERY_UPDATES > updates_before // LOG_EVERY_UPDATES:  # one line per 250 updates
                rate = (c["step"] - step0) / max(time.perf_counter() - t0, 1e-9)
                metrics.log(c["step"], loss=loss, q_mean=q_mean, epsilon=epsilon, steps_per_s=rate)
                bar.set_postfix(sps=f"{rate:.0f}", eps=f"{epsilon:.3f}",
                                ret=f"{np.mean(recent):.1f}" if recent else "-", refresh=False)
            if c["step"] >= c["next_eval"] or c["step"] >= d.total_steps:
                last_eval = evaluate_network(cfg, online, device, episodes=cfg.eval.episodes,
                                             seed=derive_seed(seed, "eval", c["step"]))
                metrics.log(c["step"], frames=c["step"] * frame_skip, eval_return=last_eval["mean_return"],
                            eval_std=last_eval["std_return"],
                            eval_human_normalized=last_eval.get("human_normalized"))
                log.info("step %d: eval return %.2f ± %.2f over %d episodes", c["step"], last_eval["mean_return"],
                         last_eval["std_return"], last_eval["episodes"])
                while c["next_eval"] <= c["step"]:
                    c["next_eval"] += cfg.eval.every_steps
                target_return = cfg.eval.stop_at_return
                if target_return is not None and last_eval["mean_return"] >= target_return:
                    c["solved"] = True  # saved below, so that re-running a finished run does nothing
                    log.info("step %d: eval return %.2f >= eval.stop_at_return %g: done", c["step"],
                             last_eval["mean_return"], target_return)
            if c["step"] >= c["next_checkpoint"] or c["step"] >= d.total_steps or c["solved"]:
                checkpoint()
                while c["next_checkpoint"] <= c["step"]:
                    c["next_checkpoint"] += cfg.checkpoint.every_steps
        if c["step"] > saved["step"]:  # an orderly stop (stop_at, time limit, a signal) between checkpoints
            checkpoint()
            log.info("stopped at step %d%s; saved a checkpoint there", c["step"],
                     f" by {stop.signal}" if stop.signal else "")
    finally:
        stop.restore()
        bar.close()
        metrics.close()
        envs.close()
    learning_rate = None
    if learn_t0 is not None and c["step"] > learn_step0:
        learning_rate = (c["step"] - learn_step0) / (time.perf_counter() - learn_t0)
    return {**last_eval, "step": c["step"], "frames": c["step"] * frame_skip, "updates": c["updates"],
            "learning_steps_per_s": learning_rate,
            "device": str(device), **({"stopped_by": stop.signal} if stop.signal else {})}


def _frame_skip(cfg: DQNRunConfig) -> int:
    """Emulator frames per agent step: the Atari preset's frame skip, 1 for other environments."""
    if cfg.env.kind != "atari":
        return 1
    from games.atari import get_preset

    return int(get_preset(cfg.env.preset).frame_skip)


class _StopSignals:
    """While alive, SIGINT and SIGTERM set ``signal`` (their name) instead of interrupting, so the training
    loop ends between two steps and saves; a second signal of the same kind interrupts at once.  Only in
    the main thread (where Python delivers signals)."""

    def __init__(self):
        import signal as _signal
        import threading

        self.signal: str | None = None
        self._old: dict = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (_signal.SIGINT, _signal.SIGTERM):
            self._old[sig] = _signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        import signal as _signal

        name = _signal.Signals(signum).name
        if self.signal == name:  # asked twice: stop now
            self.restore()
            raise KeyboardInterrupt
        log.warning("%s: stopping after this step and saving a checkpoint (send it again to stop at once)", name)
        self.signal = name

    def restore(self) -> None:
        import signal as _signal

        for sig, old in self._old.items():
            _signal.signal(sig, old)
        self._old = {}


# ---- evaluation and recording -------------------------------------------------------------------------------


def evaluate_network(cfg: DQNRunConfig, net: nn.Module, device: torch.device, *, episodes: int,
                     seed: int | None) -> dict:
    """Mean/std return over ``episodes`` full episodes (Atari: the preset's protocol, raw scores)."""
    net.eval()
    try:
        if cfg.env.kind == "atari":
            from games.atari import evaluate

            res = evaluate(lambda o: greedy_actions(net, o, device), cfg.env.id, episodes=episodes,
                           preset=cfg.env.preset, epsilon=cfg.eval.epsilon, seed=seed,
                           num_threads=env_threads(cfg, device))
            return {"mean_return": res.mean_return, "std_return": res.std_return, "episodes": res.episodes,
                    "human_normalized": res.human_normalized}
        return _evaluate_gym(cfg, net, device, episodes=episodes, seed=seed)
    finally:
        net.train()


def _evaluate_gym(cfg: DQNRunConfig, net: nn.Module, device: torch.device, *, episodes: int,
                  seed: int | None) -> dict:
    """Episodes are assigned to environments up front, so short episodes are not favoured."""
    num_envs = min(episodes, 8)
    quota = np.full(num_envs, episodes // num_envs) + (np.arange(num_envs) < episodes % num_envs)  # [E]
    envs = make_envs(cfg, num_envs=num_envs, training=False, seed=seed)
    rng = np.random.default_rng(seed)
    epsilon = cfg.eval.epsilon or 0.0
    returns: list[float] = []
    try:
        obs, _ = envs.reset(seed=seed)
        ep_return = np.zeros(num_envs)
        prev_done = np.zeros(num_envs, bool)
        while (quota > 0).any():
            actions = epsilon_greedy(net, obs, epsilon, int(envs.single_action_space.n), rng, device)
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            real = ~prev_done
            ep_return[real] += rewards[real]
            done = (terminated | truncated) & real
            for i in np.flatnonzero(done):
                if quota[i] > 0:
                    returns.append(float(ep_return[i]))
                    quota[i] -= 1
                ep_return[i] = 0.0
            prev_done = terminated | truncated
    finally:
        envs.close()
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "episodes": len(returns)}


def _load_for_inference(path: str | Path) -> tuple[DQNRunConfig, nn.Module, torch.device]:
    ckpt = load_checkpoint(path)
    if ckpt.agent != "dqn":
        raise CheckpointError(f"{ckpt.path}: a checkpoint of agent {ckpt.agent!r}, not dqn")
    import tomllib

    try:
        cfg = load_config(DQNRunConfig, data=tomllib.loads(ckpt.config_toml))
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise CheckpointError(f"{ckpt.path / 'config.toml'}: {exc}") from None
    device = pick_device(cfg.run.device)
    obs_shape = tuple(ckpt.state["obs_shape"])
    net = QNetwork(cfg, obs_shape, int(ckpt.state["num_actions"])).to(device)
    load_module_state(net, ckpt.tensors, "online", source=ckpt.path)
    return cfg, net, device


def evaluate_checkpoint(path: str | Path, *, episodes: int | None = None, seed: int | None = None) -> dict:
    cfg, net, device = _load_for_inference(path)
    seed_everything(seed if seed is not None else cfg.run.seed)
    return evaluate_network(cfg, net, device, episodes=episodes or cfg.eval.episodes,
                            seed=seed if seed is not None else derive_seed(cfg.run.seed, "final-eval"))


def watch_checkpoint(path: str | Path, out: str | Path, *, seed: int | None = None, max_frames: int = 10_000,
                     fps: int = 30) -> dict:
    """Play one episode with the evaluation policy (ε-greedy at the evaluation ε) and save it as an animated
    GIF, streamed to the file frame by frame (``rlengine.gif``), at most ``max_frames`` frames: a greedy
    agent on a deterministic game can otherwise play on for 27,000 steps.  Returns its return, length,
    frames, ε and whether the cap ended it."""
    cfg, net, device = _load_for_inference(path)
    if max_frames < 2:
        raise ValueError(f"--max-frames must be at least 2, got {max_frames}")
    seed = seed if seed is not None else cfg.run.seed
    if cfg.env.kind == "atari":
        from games.atari import get_preset, make_atari_render_env

        env = make_atari_render_env(cfg.env.id, preset=cfg.env.preset, seed=seed)
        epsilon = get_preset(cfg.env.preset).eval_epsilon if cfg.eval.epsilon is None else cfg.eval.epsilon
    else:
        env = gym.make(cfg.env.id, render_mode="rgb_array")
        epsilon = cfg.eval.epsilon or 0.0
    rng = np.random.default_rng(seed)
    num_actions = int(env.action_space.n)
    total, steps, done = 0.0, 0, False
    writer = GifWriter(out, fps=fps)
    try:
        obs, _ = env.reset(seed=seed)
        writer.add(np.asarray(env.render()))
        while not done and writer.frames < max_frames:
            action = int(epsilon_greedy(net, np.asarray(obs)[None], epsilon, num_actions, rng, device)[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            steps += 1
            done = terminated or truncated
            writer.add(np.asarray(env.render()))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        env.close()
    return {"return": total, "length": steps, "frames": writer.frames, "epsilon": epsilon,
            "capped": not done, "out": str(writer.path)}
