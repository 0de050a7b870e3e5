"""AlphaGo's RL policy (Silver et al. 2016): policy-gradient self-play against a pool of earlier selves.

Read top to bottom: the start (an SL checkpoint or random weights), the REINFORCE update, the training
loop, evaluation.

- **Start.** ``rl.init`` names an SL policy checkpoint (or run directory); the RL policy starts as a copy,
  with that checkpoint's network.  ``init = ""`` starts from random weights (small boards).
- **Games.** ``rlengine.runtime.ActorPool`` runs ``PolicyGamesWorker`` (``agents.alphago.policy_games``)
  in-process or as Ray actors.  A task is ``runtime.games_per_task`` games of the learner against one
  opponent drawn uniformly from the pool, colours alternating; the games come back as moves.
- **Pool.** It starts with the initial policy and gains a snapshot every ``rl.pool_every`` iterations
  (AlphaGo: 500).  Snapshots are policy checkpoints under ``runs/<name>/pool/``, so each one is also a
  ``policy:`` player.
- **Gating** (``rl.gate = "elo0=0,elo1=35"``, off by default), as Leela Zero gates its networks: a new
  snapshot joins the pool only when it passes a sequential probability ratio test
  (``rlengine.ratings.SPRT``) against the current *best* network, in games on the same actors (both
  sides sampling at ``rl.temperature``, at most ``rl.gate_games``).  A snapshot that passes becomes the
  best (``runs/<name>/best`` names it); one that fails or stays undecided is kept on disk but never
  played against.  So the opponents the actors play are always promoted networks.  The learner itself
  keeps training its own line either way (REINFORCE needs its own games).
- **Update.** REINFORCE with the terminal reward z = +1/-1 from the learner's side, on the learner's own
  moves only: loss = -(1/n) * sum over games i and the learner's moves t of (z_i - b) log p(a_t | s_t),
  n = the games of the minibatch (AlphaGo's n = 128), p the softmax over the moves that were sensible
  when the move was sampled (the mask comes back with the game).  b is 0, the minibatch's mean z, or
  (``rl.baseline = "value"``) v(s_t) of a trained value network (``rl.value``; AlphaGo's own RL stage
  used this baseline where it had one), which takes the outcome expected from each position out of its
  advantage and so lowers the update's variance.
- **Asynchrony.** Actors keep playing while the learner updates, so a game may have been played by
  an earlier weights version.  The version (the learner's iteration when the weights were published)
  is recorded with every game, and ``staleness`` (iterations behind the learner, mean over the
  minibatch) is logged.
- **Outputs.** ``checkpoints/`` (weights, optimiser, counters, the pool, RNG states, config),
  ``games/`` (every game as ``shard-*.npz``, one game per ``log.sgf_every`` iterations as SGF),
  ``metrics.jsonl`` and ``tb/``.  Re-running the same command resumes.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from agents.alphago.checkpoint import load_policy, load_value, policy_tensors, resume_training, save_training
from agents.alphago.config import RLRunConfig
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

__all__ = ["AGENT_NAME", "evaluate", "reinforce_loss", "train"]

log = logging.getLogger(__name__)

AGENT_NAME = "alphago_rl"
LEARNER = "learner"
_CHUNK = 1024  # positions per forward/backward chunk of an update (bounds the learner's memory)


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


# ---- the update ----------------------------------------------------------------------------------------


def reinforce_loss(logits: torch.Tensor, masks: torch.Tensor, actions: torch.Tensor,
                   advantages: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(-sum_t advantage_t * log p(a_t | s_t), sum of entropies) over a chunk of positions, p the softmax of
    ``logits`` [B, M] over ``masks`` (bool [B, M], the moves the player could sample from)."""
    logp = torch.log_softmax(logits.float().masked_fill(~masks, float("-inf")), dim=1)  # [B, M]
    chosen = logp.gather(1, actions[:, None])[:, 0]  # [B]
    p = logp.exp()
    entropy = -(p * logp.masked_fill(~masks, 0.0)).sum(1)  # [B]
    return -(advantages * chosen).sum(), entropy.sum()


def learner_samples(games: dict, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(events, game of each event, masks bool [S, M]) of the learner's own non-pass moves."""
    m = size * size
    events = np.flatnonzero(games["learner"] & (games["points"] != m))
    game_of = np.searchsorted(games["offsets"], events, side="right") - 1
    masks = np.unpackbits(games["masks"][events], axis=1, count=m).astype(bool)
    return events, game_of, masks


def update(net: torch.nn.Module, optimizer: torch.optim.Optimizer, games: dict, *, encoder: str, size: int,
           baseline: str, device: torch.device, amp: bool, grad_clip: float, value_net: torch.nn.Module | None = None,
           value_encoder: str | None = None) -> dict:
    """One REINFORCE step on a minibatch of games (``concat_games`` of the tasks' results); ``value_net``
    (reading ``value_encoder`` planes) gives the baseline v(s_t) when ``baseline == "value"``."""
    events, game_of, masks = learner_samples(games, size)
    z = games["z"].astype(np.float32)
    num_games = len(z)
    planes = encode_games(games["points"], games["colors"], games["offsets"], game_of, events,
                          np.zeros(len(events), np.int64), encoder, size)  # [S, P, N, N]
    if baseline == "value":
        vplanes = planes if value_encoder == encoder else encode_games(
            games["points"], games["colors"], games["offsets"], game_of, events, np.zeros(len(events), np.int64),
            value_encoder, size)
        b_t = np.concatenate([_values(value_net, vplanes[lo:lo + _CHUNK], device)
                              for lo in range(0, len(events), _CHUNK)] or [np.zeros(0, np.float32)])  # [S]
        adv = z[game_of] - b_t
        b = float(b_t.mean()) if len(b_t) else 0.0
    else:
        b = float(z.mean()) if baseline == "mean" else 0.0
        adv = (z - b)[game_of]  # [S]
    actions = games["points"][events].astype(np.int64)
    net.train()
    optimizer.zero_grad(set_to_none=True)
    loss_sum = ent_sum = 0.0
    for lo in range(0, len(events), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        x = torch.from_numpy(planes[sl]).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"):
            out = net(x)
        logits = (out[0] if isinstance(out, tuple) else out)[:, :size * size]
        loss, ent = reinforce_loss(logits, torch.from_numpy(masks[sl]).to(device),
                                   torch.from_numpy(actions[sl]).to(device), torch.from_numpy(adv[sl]).to(device))
        (loss / num_games).backward()
        loss_sum += float(loss.detach())
        ent_sum += float(ent.detach())
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    optimizer.step()
    return {"loss": loss_sum / num_games, "entropy": ent_sum / max(len(events), 1), "positions": len(events),
            "baseline": b}


@torch.inference_mode()
def _values(value_net: torch.nn.Module, planes: np.ndarray, device: torch.device) -> np.ndarray:
    return value_net(torch.from_numpy(planes).to(device)).float().cpu().numpy()


def concat_games(results: list[dict]) -> dict:
    """One minibatch from the tasks' results (offsets re-based)."""
    out = {k: np.concatenate([r[k] for r in results]) for k in
           ("points", "colors", "learner", "masks", "learner_color", "score", "z", "capped")}
    offsets = [np.zeros(1, np.int64)]
    base = 0
    for r in results:
        offsets.append(r["offsets"][1:] + base)
        base += int(r["offsets"][-1])
    out["offsets"] = np.concatenate(offsets)
    return out


# ---- the training loop ------------------------------------------------------------------------------------


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


def train(cfg: RLRunConfig, run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
          time_limit: float | None = None, address: str | None = None) -> dict:
    """Train (or resume) the RL policy in ``run_dir``; returns the last iteration's figures.

    ``address`` joins a Ray cluster (``auto`` or ``HOST:PORT``) instead of starting Ray in-process.
    ``stop_at`` ends the call at that iteration, ``time_limit`` after that many seconds; both write a
    checkpoint first.
    """
    cfg, init_weights = resolve_init(cfg)
    r, rt = cfg.rl, cfg.runtime
    size, encoder = cfg.game.board_size, cfg.network.encoder
    run = RunDir(run_dir)
    config_toml = to_toml(cfg)
    resume_path = run.prepare(config_toml)
    run.games.mkdir(exist_ok=True)
    pool_dir = run.path / "pool"
    seed = cfg.run.seed
    seed_everything(seed)
    device = pick_device(cfg.run.device)
    net = build_policy_net(cfg.network, size).to(device)
    optimizer = _make_optimizer(net, cfg)
    value_net, value_encoder = _baseline_net(cfg, device)
    c = {"iteration": 0, "games": 0, "positions": 0, "tasks": 0}
    pool: list[int] = [0]  # the iterations whose snapshots are in the opponent pool
    gate = parse_sprt(r.gate) if r.gate else None
    gates: list[dict] = []  # the gate tests so far (gating only)
    opp_rng = np.random.default_rng(derive_seed(seed, "opponents"))
    last: dict = {}

    def snapshot(iteration: int) -> None:
        save_checkpoint(pool_dir, iteration, agent=AGENT_NAME, tensors=policy_tensors(net), optimizer=None,
                        state={"board_size": size, "encoder": encoder, "iteration": iteration},
                        config_toml=config_toml, keep=0)

    if resume_path is not None:
        state = resume_training(resume_path, agent=AGENT_NAME, net=net, optimizer=optimizer)
        c.update(state["counters"])
        pool = list(state["pool"])
        gates = list(state.get("gates", []))
        opp_rng.bit_generator.state = state["opponent_rng"]
        last = state.get("last", {})
        log.info("resuming %s at iteration %d (%d games, pool of %d)", run.path, c["iteration"], c["games"],
                 len(pool))
    else:
        if init_weights is not None:
            net.load_state_dict(init_weights)
        snapshot(0)
    metrics = MetricsLogger(run, resume_step=c["iteration"] if resume_path is not None else None)

    def checkpoint() -> None:
        save_training(run.checkpoints, c["iteration"], agent=AGENT_NAME, net=net, optimizer=optimizer,
                      state={"counters": c, "pool": pool, "opponent_rng": opp_rng.bit_generator.state,
                             "last": last, "board_size": size, "encoder": encoder, "gates": gates},
                      config_toml=config_toml, keep=cfg.log.keep)

    factory = functools.partial(PolicyGamesWorker, network=dataclasses.asdict(cfg.network),
                                game=dataclasses.asdict(cfg.game), temperature=r.temperature)
    started_ray = connect_ray(address, num_cpus=rt.num_cpus) if rt.backend == "ray" else False
    actors = ActorPool(factory, num_actors=rt.num_actors, backend=rt.backend, max_in_flight=rt.max_in_flight,
                       cpus_per_actor=rt.cpus_per_actor, max_retries=rt.max_retries, name="self-play actor")
    stamp = time.strftime("%Y%m%d-%H%M%S")  # this driver start: shards of a killed attempt are never overwritten
    bar = tqdm(total=r.iterations, initial=c["iteration"], unit="it", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, desc=f"RL {size}x{size}")
    t0, it0, moves0 = time.perf_counter(), c["iteration"], 0
    try:
        actors.publish(LEARNER, numpy_weights(net), version=c["iteration"])
        for it in pool:
            actors.publish(_pool_key(it), _load_snapshot(pool_dir, it))

        def submit() -> None:
            opponent = _pool_key(pool[int(opp_rng.integers(len(pool)))])
            task = {"learner": LEARNER, "opponent": opponent, "num_games": rt.games_per_task,
                    "seed": derive_seed(seed, "task", c["tasks"]), "first_color": c["tasks"] % 2,
                    "sgf": True, "index": c["tasks"]}
            c["tasks"] += 1
            actors.submit(task, needs=(LEARNER, opponent))

        in_flight = rt.num_actors * rt.max_in_flight
        carry: list[tuple[dict, dict]] = []  # self-play results that came back during a gate test

        def run_gate(candidate: int) -> dict:
            """SPRT of snapshot ``candidate`` against the best (the pool's newest), games fed in task order."""
            best = pool[-1]
            pending: dict[int, dict] = {}
            scores: list[float] = []
            sent = fed = 0
            outstanding: set[int] = set()  # gate tasks submitted and not yet back
            verdict = gate.run([])

            def receive() -> tuple[dict, dict]:
                task_id, task, res = actors.next_result()
                if "gate" not in task:
                    carry.append((task, res))  # self-play: used by the next iteration
                outstanding.discard(task_id)
                return task, res

            while verdict["decision"] == "inconclusive" and len(scores) < r.gate_games:
                while actors.num_pending < in_flight and sent * rt.games_per_task < r.gate_games:
                    outstanding.add(actors.submit(
                        {"learner": _pool_key(candidate), "opponent": _pool_key(best), "num_games": rt.games_per_task,
                         "first_color": sent % 2, "gate": candidate, "seed": derive_seed(seed, "gate", candidate, sent),
                         "index": sent}, needs=(_pool_key(candidate), _pool_key(best))))
                    sent += 1
                task, res = receive()
                if "gate" not in task:
                    continue
                pending[task["index"]] = res
                while fed in pending:
                    scores += [(1.0 + float(z)) / 2 for z in pending.pop(fed)["z"]]
                    fed += 1
                verdict = gate.run(scores[:r.gate_games])
            while outstanding:  # the games still out when the test decided: played, not counted
                receive()
            verdict = {**verdict, "candidate": candidate, "best": best}
            if verdict["decision"] == "pass":
                pool.append(candidate)
                atomic_write_text(run.path / "best", f"step-{candidate:012d}\n")
            else:
                actors.forget(_pool_key(candidate))
            gates.append(verdict)
            log.info("gate: iteration %d against best %d: %s after %d games (LLR %.2f, bounds %.2f, %.2f)",
                     candidate, best, verdict["decision"], verdict["games"], verdict["llr"], *verdict["bounds"])
            return verdict

        while c["iteration"] < r.iterations and (stop_at is None or c["iteration"] < stop_at) and (
                time_limit is None or time.perf_counter() - t0 < time_limit):
            tick = time.perf_counter()
            results, tasks, num = [], [], 0
            want_sgf = c["iteration"] % cfg.log.sgf_every == 0
            while num < r.games_per_iteration:
                if carry:
                    task, res = carry.pop(0)
                else:
                    while actors.num_pending < in_flight:
                        submit()
                    _, task, res = actors.next_result()
                if want_sgf and not results:  # one game of the iteration as SGF
                    atomic_write_text(run.games / f"iter-{c['iteration']:06d}-task-{task['index']:08d}.sgf", res["sgf"])
                results.append(res)
                tasks.append(task)
                num += len(res["z"])
            waited = time.perf_counter() - tick  # the learner waiting for games (actors are busy meanwhile)
            batch = concat_games(results)
            versions = np.concatenate([np.full(len(x["z"]), x["versions"][LEARNER]) for x in results])
            opponents = np.concatenate([np.full(len(x["z"]), int(t["opponent"].split("-")[1]))
                                        for x, t in zip(results, tasks)])
            _save_npz(run.games / f"shard-{c['iteration'] + 1:06d}-{stamp}.npz",
                      {**batch, "version": versions, "opponent_iteration": opponents,
                       "task_seed": np.concatenate([np.full(len(x["z"]), t["seed"], np.uint64)
                                                    for x, t in zip(results, tasks)]),
                       "size": np.array(size), "komi": np.array(cfg.game.komi)})
            t_update = time.perf_counter()
            stats = update(net, optimizer, batch, encoder=encoder, size=size, baseline=r.baseline, device=device,
                           amp=r.amp, grad_clip=r.grad_clip, value_net=value_net, value_encoder=value_encoder)
            t_update = time.perf_counter() - t_update
            c["iteration"] += 1
            actors.publish(LEARNER, numpy_weights(net), version=c["iteration"])
            c["games"] += len(batch["z"])
            c["positions"] += len(batch["points"])
            moves0 += len(batch["points"])
            gated = None
            if c["iteration"] % r.pool_every == 0:
                snapshot(c["iteration"])
                actors.publish(_pool_key(c["iteration"]), numpy_weights(net))
                if gate is None:
                    pool.append(c["iteration"])
                else:
                    gated = run_gate(c["iteration"])
                if r.pool_max and len(pool) > r.pool_max:
                    actors.forget(_pool_key(pool.pop(0)))
            elapsed = time.perf_counter() - t0
            lengths = np.diff(batch["offsets"])
            last = {"iteration": c["iteration"], "games": c["games"], "win_rate": float((batch["z"] > 0).mean()),
                    "loss": stats["loss"], "entropy": stats["entropy"], "mean_length": float(lengths.mean()),
                    "games_per_s": len(batch["z"]) / max(time.perf_counter() - tick, 1e-9),
                    "positions_per_s": moves0 / max(elapsed, 1e-9), "pool_size": len(pool),
                    "staleness": float(c["iteration"] - 1 - versions.mean()), "capped": float(batch["capped"].mean()),
                    "wait_s": waited, "update_s": t_update, "lr": r.lr, "baseline": stats["baseline"]}
            if gated is not None:
                last.update(gate_llr=gated["llr"], gate_games=gated["games"],
                            gate_pass=float(gated["decision"] == "pass"), best=pool[-1])
            if c["iteration"] % cfg.log.every == 0:
                metrics.log(c["iteration"], **last)
            bar.update(1)
            bar.set_postfix(win=f"{last['win_rate']:.2f}", ent=f"{last['entropy']:.2f}",
                            len=f"{last['mean_length']:.0f}", gps=f"{last['games_per_s']:.1f}", pool=len(pool),
                            refresh=False)
            if c["iteration"] % cfg.log.checkpoint_every == 0 or c["iteration"] >= r.iterations:
                checkpoint()
        if c["iteration"] > it0 and not (run.checkpoints / f"step-{c['iteration']:012d}").exists():
            checkpoint()  # stopped between checkpoints (stop_at / time_limit): keep the work
    except KeyboardInterrupt:
        if c["iteration"] > it0:
            checkpoint()
        raise
    finally:
        bar.close()
        metrics.close()
        actors.close()
        if started_ray:
            import ray

            ray.shutdown()
    return {**last, "iteration": c["iteration"], "games": c["games"], "pool": [int(x) for x in pool],
            **({"gates": gates} if gate is not None else {}),
            "device": str(device), "actors_replaced": actors.num_replaced}


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
