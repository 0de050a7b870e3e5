"""Rainbow's parts: C51's projection by hand, its update, noisy layers, and the Rainbow and Nature configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.dqn import DQNRunConfig
from agents.dqn.dqn import QNetwork, make_optimizer, project_distribution, update
from rlengine.config import load_config
from rlengine.nn import NoisyLinear
from rlengine.replay import Batch


def test_c51_projection_by_hand():
    support = torch.tensor([-1.0, 0.0, 1.0])
    probs = torch.tensor([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    # row 0: r = 0.5, discount 0.5: returns 0, 0.5, 1 -> atom 0 gets 0.2, 0.5 splits half-half, atom 1 gets 0.3
    # row 1: terminal (discount 0), r = -2: everything clipped to -1
    # row 2: r = 0.25, discount 1: returns -0.75, 0.25, 1.25 (clipped to 1)
    m = project_distribution(probs, torch.tensor([0.5, -2.0, 0.25]), torch.tensor([0.5, 0.0, 1.0]), support)
    expected = torch.tensor([[0.0, 0.2 + 0.25, 0.25 + 0.3],
                             [1.0, 0.0, 0.0],
                             [0.1 * 0.75, 0.1 * 0.25 + 0.1 * 0.75, 0.1 * 0.25 + 0.8]])
    torch.testing.assert_close(m, expected)
    torch.testing.assert_close(m.sum(1), torch.ones(3))


def _cfg(*overrides: str) -> DQNRunConfig:
    return load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=[
        "dqn.distributional=true", "dqn.num_atoms=11", "dqn.v_min=-5", "dqn.v_max=5", *overrides])


def test_c51_update_moves_the_distribution_to_the_target():
    """Repeated updates on one transition (r = 1, terminal) put the taken action's mass on the atom at +1;
    the expected Q follows; a sign error in the loss would push it away."""
    torch.manual_seed(0)
    cfg = _cfg("dqn.lr=0.01", "dqn.tau=1.0")
    net = QNetwork(cfg, (4,), 2)
    target = QNetwork(cfg, (4,), 2).requires_grad_(False)
    opt = make_optimizer(net, cfg)
    obs = np.ones((1, 4), np.float32)
    batch = Batch(obs=obs, actions=np.array([1]), rewards=np.array([1.0], np.float32), next_obs=obs,
                  discounts=np.array([0.0], np.float32), indices=np.array([0]), weights=np.ones(1, np.float32))
    losses = [update(net, target, opt, batch, cfg, torch.device("cpu"))[0] for _ in range(200)]
    assert losses[-1] < 0.1 * losses[0]
    with torch.no_grad():
        probs = net.head_output(torch.as_tensor(obs)).softmax(-1)[0, 1]
        q = net(torch.as_tensor(obs))[0, 1]
    assert probs[6] > 0.9 and abs(float(q) - 1.0) < 0.2  # atom 6 of linspace(-5, 5, 11) is +1


def test_noisy_linear():
    torch.manual_seed(0)
    layer = NoisyLinear(8, 3, sigma0=0.5)
    x = torch.randn(5, 8)
    layer.eval()
    torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))  # mean only
    layer.train()
    a = layer(x)
    torch.testing.assert_close(layer(x), a)  # the noise is held until reset_noise()
    layer.reset_noise()
    assert not torch.allclose(layer(x), a)
    # the output's spread over many noise draws follows sigma (factorised: E[f(e)^2] = E|e| = sqrt(2/pi))
    outs = []
    for _ in range(4000):
        layer.reset_noise()
        outs.append(layer(x[:1]).detach())
    outs = torch.cat(outs)
    mean = torch.nn.functional.linear(x[:1], layer.weight, layer.bias)[0]
    torch.testing.assert_close(outs.mean(0), mean, atol=0.05, rtol=0)
    e2 = np.sqrt(2 / np.pi)  # E[f(e)^2] = E|e|
    var = (layer.weight_sigma.detach() ** 2 * (x[0] ** 2)).sum(1) * e2 * e2 + layer.bias_sigma.detach() ** 2 * e2
    torch.testing.assert_close(outs.var(0), var, rtol=0.25, atol=0.0)
    # the noise scales are learned: gradients reach them
    layer.reset_noise()
    layer(x).sum().backward()
    assert layer.weight_sigma.grad is not None and layer.weight_sigma.grad.abs().sum() > 0


def test_noisy_network_explores_in_training_and_is_deterministic_in_eval():
    cfg = load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=["network.noisy=true"])
    net = QNetwork(cfg, (4,), 2)
    obs = torch.randn(64, 4)
    net.eval()
    torch.testing.assert_close(net(obs), net(obs))
    net.train()
    first = net(obs)
    net.reset_noise()
    assert not torch.allclose(first, net(obs))
    assert sum(isinstance(m, NoisyLinear) for m in net.modules()) == 4  # both layers of both dueling streams


@pytest.mark.parametrize("name", ["rainbow_pong", "dqn_nature_pong", "dqn_pong"])
def test_the_atari_configs_say_what_they_run(name):
    text = open(f"configs/{name}.toml").read()
    cfg = load_config(DQNRunConfig, f"configs/{name}.toml")
    d, n = cfg.dqn, cfg.network
    if name == "rainbow_pong":  # Hessel et al. 2018: all six
        assert d.double and n.dueling and d.prioritized and d.n_step == 3 and d.distributional and n.noisy
        assert d.num_atoms == 51 and (d.v_min, d.v_max) == (-10, 10) and d.eps_end == 0.0
    elif name == "dqn_nature_pong":  # Mnih et al. 2015
        assert not (d.double or n.dueling or d.prioritized or d.distributional or n.noisy)
        assert d.n_step == 1 and d.optimizer == "rmsprop" and d.lr == 0.00025
        assert d.huber  # Nature's error clipping to [-1, 1] is the Huber loss's gradient
        assert d.target_update_every == 40_000  # C = 10,000 updates, one per 4 steps
        assert d.buffer_size == 1_000_000 and d.learning_starts == 50_000 and d.eps_end == 0.1
    else:
        assert "Nature DQN" not in text.splitlines()[0]  # it runs Double + dueling + PER + 3-step
    assert "frames" in text  # the budget is also given in frames


def test_bad_rainbow_keys_are_named():
    from rlengine.config import ConfigError

    for override, key in [("dqn.optimizer=sgd", "dqn.optimizer"),
                          ("dqn.v_min=10", "dqn.v_min: must be below dqn.v_max"),
                          ("dqn.num_atoms=1", "dqn.num_atoms"), ("network.sigma0=0", "network.sigma0"),
                          ("network.noisey=true", "unknown key 'noisey'")]:
        with pytest.raises(ConfigError, match=key):
            load_config(DQNRunConfig, "configs/dqn_cartpole.toml", overrides=[override])


def test_c51_learns_cartpole(tmp_path):
    """Distributional DQN (C51, 51 atoms on [0, 100]) with the CartPole config: measured, it stops at
    20,001 steps (evaluation 480.75) and a fresh 20-episode evaluation gives 478.95."""
    from agents.dqn import train
    from agents.dqn.dqn import evaluate_checkpoint

    cfg = load_config(DQNRunConfig, "configs/dqn_cartpole.toml",
                      overrides=["dqn.distributional=true", "dqn.v_min=0", "dqn.v_max=100"])
    out = train(cfg, tmp_path / "c51", progress=False)
    assert out["step"] <= 50_000 + cfg.env.num_envs
    fresh = evaluate_checkpoint(tmp_path / "c51", episodes=20, seed=101)
    assert fresh["mean_return"] >= 400, (out, fresh)  # untrained: about 10-20
