"""One DQN update, checked by hand: the Double DQN target, terminal transitions, and bf16 autocast."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from agents.dqn import DQNRunConfig
from agents.dqn.dqn import QNetwork, greedy_actions, make_optimizer, update
from rlengine.config import load_config
from rlengine.replay import Batch


class TableQ(nn.Module):
    """Q(s, a) = table[s, a] for an integer state id s: a stub network with exact, known values."""

    def __init__(self, table):
        super().__init__()
        self.table = nn.Parameter(torch.tensor(table, dtype=torch.float32))

    def forward(self, obs):  # [B, 1] state ids -> [B, A]
        return self.table[obs[:, 0].long()]


def _cfg(**dqn) -> DQNRunConfig:
    keys = [f"dqn.{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in dqn.items()]
    return load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=keys)


def _batch(obs, actions, rewards, next_obs, discounts) -> Batch:
    n = len(obs)
    return Batch(obs=np.array(obs)[:, None], actions=np.array(actions), rewards=np.array(rewards, np.float32),
                 next_obs=np.array(next_obs)[:, None], discounts=np.array(discounts, np.float32),
                 indices=np.arange(n), weights=np.ones(n, np.float32))


ONLINE = [[1.0, 2.0, 0.0], [0.5, 0.0, 3.0], [4.0, 1.0, 1.0]]  # states 0..2
TARGET = [[10.0, 20.0, 30.0], [7.0, 8.0, 9.0], [5.0, 6.0, 2.0]]


def _td(double: bool, huber: bool = False) -> np.ndarray:
    online, target = TableQ(ONLINE), TableQ(TARGET)
    cfg = _cfg(double=double, huber=huber, grad_clip=1000.0)
    opt = make_optimizer(online, cfg)
    # s=0 a=1 -> s'=1 (not terminal, discount 0.9); s=2 a=0 -> s'=0 (terminal: discount 0)
    batch = _batch([0, 2], [1, 0], [1.0, -1.0], [1, 0], [0.9, 0.0])
    _, td, q_mean = update(online, target, opt, batch, cfg, torch.device("cpu"))
    assert q_mean == (2.0 + 4.0) / 2
    return td


def test_double_dqn_target_by_hand():
    # Double: a* = argmax_a online(s'=1) = 2, y = 1 + 0.9 * target(1, 2) = 1 + 0.9 * 9 = 9.1; q = online(0, 1) = 2
    # terminal: y = -1 whatever s' is worth; q = online(2, 0) = 4
    np.testing.assert_allclose(_td(double=True), [9.1 - 2.0, abs(-1.0 - 4.0)], rtol=1e-6)
    # swapping the networks in the target would give 1 + 0.9 * online(1, argmax target(1)) = 1 + 0.9 * 3 = 3.7,
    # ignoring the terminal flag -1 + 0.9 * 30 (or 9): these numbers are not what update() computes
    assert not np.isclose(_td(double=True)[0], 3.7 - 2.0)
    assert not np.isclose(_td(double=True)[1], abs(-1.0 + 0.9 * 30 - 4.0))


def test_plain_dqn_target_by_hand():
    # plain: y = 1 + 0.9 * max_a target(1, a) = 1 + 0.9 * 9 (the same here) ... use a state where they differ
    online, target = TableQ(ONLINE), TableQ(TARGET)
    cfg = _cfg(double=False, huber=False, grad_clip=1000.0)
    batch = _batch([0], [0], [0.0], [2], [0.5])  # s'=2: online argmax 0 (target 5), target max is 6 (action 1)
    _, td, _ = update(online, target, make_optimizer(online, cfg), batch, cfg, torch.device("cpu"))
    np.testing.assert_allclose(td, [0.5 * 6.0 - 1.0], rtol=1e-6)
    cfg = _cfg(double=True, huber=False, grad_clip=1000.0)
    online, target = TableQ(ONLINE), TableQ(TARGET)
    _, td, _ = update(online, target, make_optimizer(online, cfg), batch, cfg, torch.device("cpu"))
    np.testing.assert_allclose(td, [0.5 * 5.0 - 1.0], rtol=1e-6)


def test_the_update_moves_q_towards_the_target():
    online, target = TableQ(ONLINE), TableQ(TARGET)
    cfg = _cfg(double=True, huber=False, grad_clip=1000.0, lr=0.1, tau=1.0)
    opt = make_optimizer(online, cfg)
    batch = _batch([0], [1], [1.0], [1], [0.9])
    before = float(online.table[0, 1].detach())
    update(online, target, opt, batch, cfg, torch.device("cpu"))
    assert float(online.table[0, 1].detach()) > before  # towards y = 9.1 (Adam's first step: about +lr)
    assert torch.equal(target.table.detach(), torch.tensor(TARGET))  # hard updates (tau = 1): target untouched


def _planted_q_network(seed: int = 0) -> QNetwork:
    """An MLP Q-network whose Q-values sit near 20 with action gaps of a few hundredths."""
    torch.manual_seed(seed)
    cfg = load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=["network.dueling=false"])
    net = QNetwork(cfg, (4,), 6)
    last = net.head.q[-1]
    with torch.no_grad():
        last.weight.mul_(0.05 / last.weight.abs().max())
        last.bias.fill_(20.0)
    return net


def test_bf16_autocast_keeps_argmax_and_td_targets():
    """amp on (bf16 torso) and off give the same greedy actions and TD errors at Q near 20, where bf16
    values are 0.125 apart: the head, the argmax and the loss run in float32."""
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1024, 4)).astype(np.float32)
    plain = _planted_q_network()
    mixed = copy.deepcopy(plain)
    mixed.amp = True  # bf16 autocast also works on CPU
    q = plain(torch.as_tensor(obs))
    gaps = q.topk(2, dim=1).values
    assert 19.5 < float(q.mean()) < 20.5 and float((gaps[:, 0] - gaps[:, 1]).median()) < 0.05
    a_plain = greedy_actions(plain, obs, torch.device("cpu"))
    a_mixed = greedy_actions(mixed, obs, torch.device("cpu"))
    assert len(set(a_plain.tolist())) > 1
    assert (a_plain == a_mixed).mean() >= 0.97, (a_plain == a_mixed).mean()
    # what the old code did on GPU (the head under bf16 too) loses the argmax on this very network
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        q_old = plain.head(plain.torso(torch.as_tensor(obs)))
    assert (q_old.float().argmax(1).numpy() == a_plain).mean() < 0.5
    cfg = _cfg(double=True, huber=True)
    batch = Batch(obs=obs[:256], actions=rng.integers(0, 6, 256), rewards=np.ones(256, np.float32),
                  next_obs=obs[256:512], discounts=np.full(256, 0.99, np.float32), indices=np.arange(256),
                  weights=np.ones(256, np.float32))
    tds = []
    for net in (plain, mixed):
        online = copy.deepcopy(net)
        target = copy.deepcopy(net).requires_grad_(False)
        _, td, _ = update(online, target, make_optimizer(online, cfg), batch, cfg, torch.device("cpu"))
        tds.append(td)
    np.testing.assert_allclose(tds[1], tds[0], atol=0.01)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_amp_update_matches_float32():
    """On CUDA, the real path (dqn.amp = true, QNetwork.amp as train() sets it) gives the float32
    argmax and TD errors at Q near 20; the old code (the whole update under bf16) did not."""
    device = torch.device("cuda")
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(512, 4)).astype(np.float32)
    plain = _planted_q_network().to(device)
    mixed = copy.deepcopy(plain)
    mixed.amp = _cfg(amp=True).dqn.amp and device.type == "cuda"
    a_plain, a_mixed = greedy_actions(plain, obs, device), greedy_actions(mixed, obs, device)
    assert (a_plain == a_mixed).mean() >= 0.97
    cfg = _cfg(double=True, huber=True, amp=True)
    batch = Batch(obs=obs[:256], actions=rng.integers(0, 6, 256), rewards=np.ones(256, np.float32),
                  next_obs=obs[256:], discounts=np.full(256, 0.99, np.float32), indices=np.arange(256),
                  weights=np.ones(256, np.float32))
    tds = []
    for net in (plain, mixed):
        online = copy.deepcopy(net)
        target = copy.deepcopy(net).requires_grad_(False)
        tds.append(update(online, target, make_optimizer(online, cfg), batch, cfg, device)[1])
    np.testing.assert_allclose(tds[1], tds[0], atol=0.01)


def test_dueling_is_wangs_architecture():
    """Wang et al. 2016: the convolutions feed two separate 512-unit streams, V (1 output) and A (one per
    action), combined as V + A - mean(A); not two linear maps of one shared 512-unit layer."""
    cfg = load_config(DQNRunConfig, "configs/dqn_pong.toml")
    net = QNetwork(cfg, (4, 84, 84), 6)
    assert net.torso.fc is None and net.torso.out_features == 3136
    v, a = net.head.value, net.head.advantage
    assert [tuple(m.weight.shape) for m in v if isinstance(m, nn.Linear)] == [(512, 3136), (1, 512)]
    assert [tuple(m.weight.shape) for m in a if isinstance(m, nn.Linear)] == [(512, 3136), (6, 512)]
    conv = 8 * 8 * 4 * 32 + 32 + 4 * 4 * 32 * 64 + 64 + 3 * 3 * 64 * 64 + 64
    assert sum(p.numel() for p in net.parameters()) == conv + 2 * (3136 * 512 + 512) + (512 + 1) + (512 * 6 + 6)
    frames = torch.randint(0, 255, (3, 4, 84, 84), dtype=torch.uint8)
    value, advantage = net.head.value_and_advantage(net.torso(frames))
    q = net(frames)
    torch.testing.assert_close(q, value[:, None] + advantage - advantage.mean(1, keepdim=True))
    plain = QNetwork(load_config(DQNRunConfig, "configs/dqn_pong.toml", overrides=["network.dueling=false"]),
                     (4, 84, 84), 6)
    assert plain.torso.out_features == 512 and tuple(plain.head.q[0].weight.shape) == (6, 512)
