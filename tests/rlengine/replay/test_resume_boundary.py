"""A buffer restored from a checkpoint while its environments restart: episodes must not be joined."""

from __future__ import annotations

import numpy as np

from rlengine.replay import ReplayBuffer, ReplayConfig


def _add_episode(buf: ReplayBuffer, episode: int, steps: int, reward: float, first: bool) -> None:
    """``steps`` transitions of one env; frame k of episode e holds 1000 * e + k."""
    frame = lambda k: np.array([1000 * episode + k], np.int32)  # noqa: E731
    for k in range(steps):
        prev = frame(max(k - 1, 0)) if not (first and k == 0) else frame(0)
        obs = np.stack([prev, frame(k)])[None]  # [1, stack 2, 1]
        nxt = np.stack([frame(k), frame(k + 1)])[None]
        buf.add(obs, [0], [reward], [False], [False], nxt)


def _restored(buf: ReplayBuffer) -> ReplayBuffer:
    fresh = ReplayBuffer(buf.config, obs_shape=(1,), obs_dtype=np.int32, num_envs=1, stack=2, seed=1)
    fresh.load_state_dict({k: np.array(v) for k, v in buf.state_dict().items()})
    return fresh


def test_break_episodes_keeps_stacks_and_returns_inside_one_episode():
    buf = ReplayBuffer(ReplayConfig(capacity=64, n_step=3, gamma=0.5), obs_shape=(1,), obs_dtype=np.int32,
                       num_envs=1, stack=2, seed=0)
    _add_episode(buf, 0, 6, 1.0, first=True)  # the run is killed here, mid-episode
    buf = _restored(buf)
    buf.break_episodes()  # what the DQN resume does; the environments were reset
    _add_episode(buf, 1, 6, 100.0, first=True)
    batch = buf.sample(2000)
    obs, nxt = batch.obs[:, :, 0], batch.next_obs[:, :, 0]  # [B, 2]
    assert (obs // 1000 == obs[:, :1] // 1000).all(), "an obs stack mixes two episodes"
    assert (nxt // 1000 == nxt[:, :1] // 1000).all(), "a next_obs stack mixes two episodes"
    old = obs[:, 0] < 1000
    assert old.any() and (~old).any()
    assert (batch.rewards[old] < 100).all(), "an n-step return of the old episode took a reward of the new one"
    assert (nxt[old] < 1000).all()
    # the newest old transition bootstraps from its own next observation (truncated, not terminated)
    last = old & (obs[:, 1] == 5)
    assert last.any() and np.allclose(batch.rewards[last], 1.0) and np.allclose(batch.discounts[last], 0.5)


def test_without_the_break_the_episodes_would_join():
    """The failure the break prevents (stack 2, n = 3): a stack holding one frame of each episode."""
    buf = ReplayBuffer(ReplayConfig(capacity=64, n_step=3, gamma=0.5), obs_shape=(1,), obs_dtype=np.int32,
                       num_envs=1, stack=2, seed=0)
    _add_episode(buf, 0, 6, 1.0, first=True)
    buf = _restored(buf)
    _add_episode(buf, 1, 6, 100.0, first=True)
    obs = buf.sample(2000).obs[:, :, 0]
    assert (obs // 1000 != obs[:, :1] // 1000).any()


def test_break_is_a_no_op_at_a_boundary():
    buf = ReplayBuffer(ReplayConfig(capacity=16, n_step=2), obs_shape=(1,), obs_dtype=np.int32, num_envs=1,
                       stack=2, seed=0)
    buf.break_episodes()  # empty
    assert len(buf) == 0
    _add_episode(buf, 0, 3, 1.0, first=True)
    before = len(buf)
    buf.break_episodes()
    assert len(buf) == before + 1  # the last transition's window is now complete (ended by truncation)
    state = {k: np.array(v) for k, v in buf.state_dict().items()}
    buf.break_episodes()  # twice changes nothing more
    assert all(np.array_equal(np.asarray(v), np.asarray(buf.state_dict()[k])) for k, v in state.items()
               if k != "frames")
