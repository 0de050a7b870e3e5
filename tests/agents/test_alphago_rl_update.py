"""The RL policy stage's update and run (issue 24): the worker's network cache, the behaviour
log-probabilities, the exact gradients of the REINFORCE and PPO losses, BatchNorm in eval mode, the
opponent draw, resume (orphaned shards, extending a finished run) and ``runtime.address``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.alphago import rl
from agents.alphago.config import GameSection, NetworkSection, RLSection
from agents.alphago.nets import build_policy_net
from agents.alphago.policy_games import PolicyGamesWorker
from rlengine.config import ConfigError, to_toml
from tests.agents.test_alphago_rl import _config  # the same tiny 5x5 run config

REPO = Path(__file__).resolve().parents[2]
SIZE, M = 5, 25


def _weights(net: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def _worker(network: NetworkSection, temperature: float = 1.0, **kw) -> PolicyGamesWorker:
    return PolicyGamesWorker(network=dataclasses.asdict(network), game=dataclasses.asdict(GameSection(board_size=SIZE)),
                             temperature=temperature, **kw)


# ---- the worker's network cache ----------------------------------------------------------------------------


def test_worker_cache_is_lru_and_never_drops_the_task_networks():
    """Eight opponents loaded while the learner stays at one version must not evict the learner (the old
    cache evicted by load order, so the ninth key dropped it); a hit refreshes a key; the cache holds at
    most max_cached networks after a task."""
    net = NetworkSection(kind="cnn", filters=4, layers=2)
    torch.manual_seed(0)
    w = _weights(build_policy_net(net, SIZE))
    worker = _worker(net, max_cached=4)
    worker.load("learner", 0, w)
    for i in range(1, 10):
        worker.load(f"pool-{i}", 0, w)
        worker.run({"learner": "learner", "opponent": f"pool-{i}", "num_games": 1, "seed": i})
        assert "learner" in worker.nets and len(worker.nets) <= 4
        if i >= 4:  # pool-2 is a hit at every task from here on: never evicted
            worker.run({"learner": "learner", "opponent": "pool-2", "num_games": 1, "seed": i})
    assert list(worker.nets) == ["pool-8", "pool-9", "learner", "pool-2"]  # least recently used first
    assert set(worker.versions) == set(worker.nets)
    for i in range(10, 16):  # loads alone never evict: the task about to run needs them
        worker.load(f"pool-{i}", 0, w)
    worker.run({"learner": "pool-14", "opponent": "pool-15", "num_games": 1, "seed": 0})
    assert list(worker.nets)[-2:] == ["pool-14", "pool-15"] and len(worker.nets) == 4
    with pytest.raises(KeyError, match="network 'pool-1' is not loaded"):
        worker.run({"learner": "pool-15", "opponent": "pool-1", "num_games": 1, "seed": 0})


def test_many_pool_opponents_in_one_learner_version_keep_the_learner(tmp_path):
    """The issue's reproduction: 64 games an iteration in tasks of 4 and a snapshot every iteration died
    within 20 iterations with "network 'learner' is not loaded in this worker"."""
    cfg = _config(rl={"iterations": 20, "games_per_iteration": 64, "pool_every": 1, "opponents": "uniform"},
                  runtime={"games_per_task": 4}, network={"filters": 4, "layers": 2})
    out = rl.train(cfg, tmp_path / "run", progress=False)
    assert out["iteration"] == 20 and out["pool"] == list(range(21))


# ---- behaviour log-probabilities, BatchNorm ---------------------------------------------------------------------


def _games(network: NetworkSection, temperature: float, *, num_games: int = 6, seed: int = 0,
           learner_weights=None, opponent_weights=None) -> dict:
    torch.manual_seed(seed)
    worker = _worker(network, temperature)
    worker.load("a", 0, learner_weights or _weights(build_policy_net(network, SIZE)))
    worker.load("b", 0, opponent_weights or _weights(build_policy_net(network, SIZE)))
    return rl.concat_games([worker.run({"learner": "a", "opponent": "b", "num_games": num_games, "seed": seed,
                                        "first_color": 0})])


class _Capture:
    """The logits the learner's first forward of an update computes, and their gradient."""

    def __init__(self, net: torch.nn.Module):
        self.outputs: list[torch.Tensor] = []
        self.inputs: list[torch.Tensor] = []
        self.handle = net.register_forward_hook(self._hook)

    def _hook(self, module, args, out):
        logits = out[0] if isinstance(out, tuple) else out
        if logits.requires_grad:
            logits.retain_grad()
            self.outputs.append(logits)
            self.inputs.append(args[0])


def _update(net, games, rl_section, lr=0.0):
    cap = _Capture(net)
    stats = rl.update(net, torch.optim.SGD(net.parameters(), lr=lr), games, rl=rl_section, encoder="alphago48",
                      size=SIZE, device=torch.device("cpu"))
    cap.handle.remove()
    assert len(cap.outputs) == 1  # one chunk, one forward with gradients
    return cap.outputs[0], stats


def _policy(logits: np.ndarray, masks: np.ndarray, temperature: float) -> np.ndarray:
    z = np.where(masks, logits.astype(np.float64) / temperature, -np.inf)
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)  # [S, M]


def _learner_rows(games: dict) -> tuple[np.ndarray, np.ndarray]:
    """(events of the learner's non-pass moves, masks bool [S, M]): computed here, not by rl."""
    events = np.flatnonzero(games["learner"] & (games["points"] != M))
    masks = np.unpackbits(games["masks"][events], axis=1, count=M).astype(bool)
    return events, masks


@pytest.mark.parametrize("kind", ["resnet", "cnn"])
def test_the_learner_computes_the_policy_the_actor_sampled_from(kind):
    """The learner's log-probability of each of its moves equals the behaviour log-probability the actor
    returned, for the same weights, at temperature 0.7; with a ResNet whose BatchNorm running statistics
    are far from a minibatch's own (a learner in batch-statistics mode computes another policy)."""
    network = NetworkSection(kind=kind, filters=8, blocks=2, layers=3)
    torch.manual_seed(1)
    net = build_policy_net(network, SIZE)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-1.0, 1.0)
                mod.running_var.uniform_(0.2, 3.0)
    weights = _weights(net)
    games = _games(network, 0.7, learner_weights=weights, num_games=8)
    events, masks = _learner_rows(games)
    logits, stats = _update(net, games, RLSection(temperature=0.7))
    p = _policy(logits.detach().numpy()[:, :M], masks, 0.7)
    actions = games["points"][events].astype(np.int64)
    learner_logp = np.log(p[np.arange(len(events)), actions])
    np.testing.assert_allclose(learner_logp, games["logp"][events], atol=2e-5)
    assert stats["clip_fraction"] == 0.0
    # the opponent's moves carry their own network's probabilities; a pass with nothing allowed has log p = 0
    assert np.all(games["logp"] <= 0) and np.all(games["logp"][games["points"] == M] == 0)


# ---- exact gradients ------------------------------------------------------------------------------------------


def _expected_surrogate_grad(logits, masks, actions, adv, temperature, denominator, ratio=None):
    """-(A)(onehot - p) / (T * denominator), times the importance ratio where given (a policy gradient of
    log softmax(logits / T))."""
    p = _policy(logits, masks, temperature)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(actions)), actions] = 1.0
    scale = adv if ratio is None else adv * ratio
    return -scale[:, None] * (onehot - p) / (temperature * denominator)


def test_reinforce_gradient_on_the_logits_is_exact():
    """AlphaGo's loss: d loss / d logits = -(z - b)(onehot(a) - p) / (T n) on the learner's rows (n = games,
    p = softmax(logits / T) over the sampled-from moves), 0 on masked entries and beyond the board's points.
    The opponent's moves are not rows at all (the row count is the learner's non-pass moves)."""
    network = NetworkSection(kind="cnn", filters=8, layers=3)
    temperature = 0.5
    games = _games(network, temperature, num_games=6, seed=4)
    torch.manual_seed(4)
    net = build_policy_net(network, SIZE)
    logits, _ = _update(net, games, RLSection(loss="reinforce", temperature=temperature, baseline="mean"))
    events, masks = _learner_rows(games)
    assert logits.shape[0] == len(events) > 0
    assert 0 < len(events) < int((games["points"] != M).sum())  # the opponent played moves too
    z = games["z"].astype(np.float64)
    game_of = np.searchsorted(games["offsets"], events, side="right") - 1
    adv = z[game_of] - z.mean()
    assert np.any(adv != 0)
    expected = _expected_surrogate_grad(logits.detach().numpy()[:, :M], masks, games["points"][events].astype(np.int64),
                                        adv, temperature, len(z))
    grad = logits.grad.numpy()
    np.testing.assert_allclose(grad[:, :M], expected, atol=1e-7, rtol=1e-4)
    assert np.all(grad[:, :M][~masks] == 0)
    assert np.all(grad[:, M:] == 0)


def test_ppo_gradient_is_a_per_move_mean_and_clips_stale_moves():
    """The PPO loss on on-policy games (ratio 1): -(A (onehot - p) + c dH/dz) / (T S), S = the learner's moves
    of the minibatch (not its games), with the entropy bonus's exact gradient.  Then stale moves whose
    behaviour probability was e times lower: the moves with A > 0 leave the clip range and get no
    gradient; those with A < 0 keep theirs, weighted by the ratio e."""
    network = NetworkSection(kind="cnn", filters=8, layers=3)
    temperature, coef = 0.8, 0.05
    torch.manual_seed(5)
    net = build_policy_net(network, SIZE)
    games = _games(network, temperature, num_games=6, seed=5, learner_weights=_weights(net))
    events, masks = _learner_rows(games)
    actions = games["points"][events].astype(np.int64)
    z = games["z"].astype(np.float64)
    game_of = np.searchsorted(games["offsets"], events, side="right") - 1
    adv = z[game_of] - z.mean()
    section = RLSection(loss="ppo", temperature=temperature, baseline="mean", entropy_coef=coef, clip=0.2)
    logits, stats = _update(net, games, section)
    x = logits.detach().numpy()[:, :M]
    p = _policy(x, masks, temperature)
    logp = np.log(np.where(masks, p, 1.0))
    entropy = -(p * logp).sum(1)
    d_entropy = -p * (logp + entropy[:, None]) / temperature  # dH/dlogits
    s = len(events)
    expected = _expected_surrogate_grad(x, masks, actions, adv, temperature, s) - coef * d_entropy / s
    np.testing.assert_allclose(logits.grad.numpy()[:, :M], expected, atol=1e-7, rtol=1e-4)
    assert stats["clip_fraction"] == 0.0 and stats["entropy"] == pytest.approx(entropy.mean(), rel=1e-5)

    stale = dict(games)
    stale["logp"] = games["logp"].copy()
    stale["logp"][events] -= 1.0  # ratio = e
    logits, stats = _update(net, stale, dataclasses.replace(section, entropy_coef=0.0))
    ratio = np.exp(1.0)
    live = adv < 0  # min(r A, clip(r) A): the clipped (constant) branch wins where A > 0
    expected = _expected_surrogate_grad(x, masks, actions, adv, temperature, s, ratio=np.full(s, ratio))
    expected[~live] = 0.0
    np.testing.assert_allclose(logits.grad.numpy()[:, :M], expected, atol=1e-7, rtol=1e-4)
    assert stats["clip_fraction"] == 1.0


def test_kl_penalty_gradient_to_the_starting_policy_is_exact():
    """rl.kl_coef: the loss gains + kl_coef * mean KL(p || q) (q the frozen start), whose gradient on the
    logits is kl_coef * p (log p - log q - KL) / (T S); the starting network gets no gradient."""
    network = NetworkSection(kind="cnn", filters=8, layers=3)
    temperature, coef = 1.3, 0.7
    torch.manual_seed(7)
    net, init = build_policy_net(network, SIZE), build_policy_net(network, SIZE).eval().requires_grad_(False)
    with torch.no_grad():  # a start far from the learner: its per-point output bias spread out
        list(init.parameters())[-1].add_(torch.randn_like(list(init.parameters())[-1]) * 2.0)
    games = _games(network, temperature, num_games=6, seed=7, learner_weights=_weights(net))
    section = RLSection(temperature=temperature, baseline="mean", entropy_coef=0.0, kl_coef=coef)
    cap = _Capture(net)
    stats = rl.update(net, torch.optim.SGD(net.parameters(), lr=0.0), games, rl=section, encoder="alphago48",
                      size=SIZE, device=torch.device("cpu"), init_net=init)
    cap.handle.remove()
    logits = cap.outputs[0]
    with torch.no_grad():
        q_logits = init(cap.inputs[0]).numpy()[:, :M]
    events, masks = _learner_rows(games)
    x = logits.detach().numpy()[:, :M]
    p, q = _policy(x, masks, temperature), _policy(q_logits, masks, temperature)
    logp, logq = (np.log(np.where(masks, d, 1.0)) for d in (p, q))
    kl = (p * (logp - logq)).sum(1)
    z = games["z"].astype(np.float64)
    adv = z[np.searchsorted(games["offsets"], events, side="right") - 1] - z.mean()
    s = len(events)
    expected = (_expected_surrogate_grad(x, masks, games["points"][events].astype(np.int64), adv, temperature, s)
                + coef * p * (logp - logq - kl[:, None]) / (temperature * s))
    np.testing.assert_allclose(logits.grad.numpy()[:, :M], expected, atol=1e-7, rtol=1e-4)
    assert stats["kl_init"] == pytest.approx(kl.mean(), rel=1e-4) and kl.mean() > 0.01
    assert all(prm.grad is None for prm in init.parameters())


def test_update_logs_kl_grad_norm_and_clips_the_gradient():
    """kl is KL(p_before || p_after) of the step (0 when the step is 0, > 0 after a real step); grad_norm is
    the norm before clipping; with grad_clip the step's parameter change is that of the clipped gradient."""
    network = NetworkSection(kind="cnn", filters=8, layers=3)
    torch.manual_seed(6)
    net = build_policy_net(network, SIZE)
    games = _games(network, 1.0, num_games=8, seed=6, learner_weights=_weights(net))
    section = RLSection(baseline="mean", grad_clip=0.0)
    _, still = _update(net, games, section, lr=0.0)
    assert still["kl"] == pytest.approx(0.0, abs=1e-9) and still["grad_norm"] > 0
    before = [p.detach().clone() for p in net.parameters()]
    lr, clip = 20.0, still["grad_norm"] / 10
    old_logits, moved = _update(net, games, dataclasses.replace(section, grad_clip=clip), lr=lr)
    step = torch.sqrt(sum(((p.detach() - q) ** 2).sum() for p, q in zip(net.parameters(), before)))
    assert moved["grad_norm"] == pytest.approx(still["grad_norm"], rel=1e-5)
    assert float(step) == pytest.approx(lr * clip, rel=1e-4)
    new_logits, _ = _update(net, games, section, lr=0.0)  # the policy after the step
    _, masks = _learner_rows(games)
    p_old, p_new = (_policy(x.detach().numpy()[:, :M], masks, 1.0) for x in (old_logits, new_logits))
    kl = np.where(masks, p_old * (np.log(np.where(masks, p_old, 1)) - np.log(np.where(masks, p_new, 1))), 0).sum(1)
    assert kl.mean() > 0 and moved["kl"] == pytest.approx(kl.mean(), rel=1e-2)


# ---- opponents -----------------------------------------------------------------------------------------------


def test_latest_half_draws_the_newest_snapshot_half_the_time_plus_its_uniform_share():
    pool = [0, 5, 10, 15]
    rng = np.random.default_rng(0)
    draws = np.array([rl.draw_opponent(pool, "latest_half", rng) for _ in range(40_000)])
    freq = {it: float((draws == it).mean()) for it in pool}
    assert freq[15] == pytest.approx(0.5 + 0.5 / 4, abs=0.01), freq
    for it in (0, 5, 10):
        assert freq[it] == pytest.approx(0.5 / 4, abs=0.01), freq
    draws = np.array([rl.draw_opponent(pool, "uniform", rng) for _ in range(40_000)])
    for it in pool:
        assert float((draws == it).mean()) == pytest.approx(0.25, abs=0.01)


def test_a_run_plays_the_newest_snapshot_in_half_its_tasks(tmp_path):
    """In a run, the tasks against the pool's newest member (recorded per task) are about 1/2 + 1/(2|pool|)."""
    cfg = _config(rl={"iterations": 6, "games_per_iteration": 32, "pool_every": 1},
                  runtime={"games_per_task": 1}, network={"filters": 4, "layers": 2})
    rl.train(cfg, tmp_path / "run", progress=False)
    newest = []
    for path in sorted((tmp_path / "run" / "games").glob("shard-*.npz")):
        it = int(path.name.split("-")[1])
        with np.load(path) as z:
            opp, version = z["opponent_iteration"], z["version"]
        newest += list(opp[version == it - 1] == it - 1)  # the games played with the pool's newest = it - 1
    assert len(newest) >= 150
    assert 0.5 < np.mean(newest) < 0.75, np.mean(newest)  # uniform: about 1/|pool| (< 0.4 here)


# ---- resume -------------------------------------------------------------------------------------------------


def test_resume_moves_the_games_of_iterations_after_the_checkpoint_aside(tmp_path):
    """A run killed after iteration 3's games were written but before its checkpoint: the resumed run plays
    iteration 3 again, and games/ holds each iteration's shard once (the orphan in games/orphaned/)."""
    run = tmp_path / "run"
    cfg = _config(rl={"iterations": 3})
    rl.train(cfg, run, progress=False, stop_at=2)
    games = run / "games"
    shard2 = next(games.glob("shard-000002-*.npz"))
    (games / "shard-000003-19990101-000000.npz").write_bytes(shard2.read_bytes())  # the killed attempt's
    (games / "iter-000002-task-00000099.sgf").write_text("(;GM[1])")
    out = rl.train(cfg, run, progress=False)
    assert out["iteration"] == 3
    names = sorted(p.name.split("-")[1] for p in games.glob("shard-*.npz"))
    assert names == ["000001", "000002", "000003"]
    assert (games / "orphaned" / "shard-000003-19990101-000000.npz").exists()
    assert (games / "orphaned" / "iter-000002-task-00000099.sgf").exists()
    assert len(list(games.glob("iter-000002-*.sgf"))) == 1


def test_a_finished_run_is_extended_and_resized_on_resume(tmp_path):
    run = tmp_path / "run"
    assert rl.train(_config(rl={"iterations": 2}), run, progress=False)["iteration"] == 2
    out = rl.train(_config(rl={"iterations": 3}, runtime={"num_actors": 2}, run={"device": "auto"}), run,
                   progress=False)
    assert out["iteration"] == 3 and out["games"] == 3 * 16
    assert "iterations = 3" in (run / "config.toml").read_text()
    with pytest.raises(ConfigError, match="runtime.games_per_task"):
        rl.train(_config(rl={"iterations": 4}, runtime={"games_per_task": 4}), run, progress=False)


# ---- runtime.address -------------------------------------------------------------------------------------------


def test_runtime_address_in_the_config_is_used(tmp_path):
    """runtime.address joins that cluster (here nothing listens there: a clear error), and --address
    overrides it."""
    cfg = _config(rl={"iterations": 1, "games_per_iteration": 4},
                  runtime={"backend": "ray", "address": "127.0.0.1:1", "games_per_task": 4})
    path = tmp_path / "c.toml"
    path.write_text(to_toml(cfg))
    cmd = [sys.executable, "-m", "rlengine.cli", "train", str(path), "--run-dir", str(tmp_path / "r"), "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode != 0 and "127.0.0.1:1: nothing is listening" in res.stderr, res.stderr[-2000:]
    res = subprocess.run(cmd + ["--address", "127.0.0.1:2"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode != 0 and "127.0.0.1:2: nothing is listening" in res.stderr, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
