"""Replay memory: stacks rebuilt from single frames, n-step returns, PER, checkpoints, config, memory.

Most checks drive the buffer with ``Sim``: lock-step environments whose
frames encode (env, episode, step), so that every sampled row can be looked
up in a plain Python record of what was added and compared exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlengine.replay import Batch, ReplayBuffer, ReplayConfig

# ---- synthetic environments ---------------------------------------------------------


def encode_int(e: int, ep: int, s: int) -> np.ndarray:
    """An int32 [3] frame of step ``s`` (s < 0: the -s-th padding frame) of episode ``ep`` of env ``e``."""
    return np.array([e + 1, ep + 1, s + 1], np.int32)


def decode_int(frame: np.ndarray) -> tuple[int, int, int]:
    return int(frame[0]) - 1, int(frame[1]) - 1, int(frame[2]) - 1


def encode_atari(e: int, ep: int, s: int) -> np.ndarray:
    """An 84x84 uint8 frame carrying (env, episode, step) in its first pixels and a step pattern elsewhere."""
    frame = np.full((84, 84), (7 * s + 31 * e + 3 * ep) % 256, np.uint8)
    frame[0, :5] = (e + 1, ep + 1, (s + 1) & 255 if s >= 0 else 0, (s + 1) >> 8 if s >= 0 else 0, max(-s, 0))
    return frame


def decode_atari(frame: np.ndarray) -> tuple[int, int, int]:
    assert frame[0, 4] == 0, "a padding frame is never the newest frame of a stored observation"
    return int(frame[0, 0]) - 1, int(frame[0, 1]) - 1, int(frame[0, 2]) + 256 * int(frame[0, 3]) - 1


class Sim:
    """``num_envs`` environments stepped together, with gymnasium's NEXT_STEP autoreset.

    After a step that ends an episode, the env's next row is the reset step:
    it is passed with ``mask`` False and garbage contents, which must never be
    stored.  ``idle`` masks out rows at episode starts at random as well.
    ``pad`` is the padding of the first stack of an episode: ``distinct``
    frames, ``zeros`` or repeats of the ``reset`` frame.
    """

    def __init__(self, num_envs, stack, *, seed, p_term=0.05, p_trunc=0.03, idle=0.0, pad="distinct",
                 encode=encode_int, decode=decode_int):  # fmt: skip
        self.num_envs, self.stack = num_envs, stack
        self.rng = np.random.default_rng(seed)
        self.p_term, self.p_trunc, self.idle, self.pad = p_term, p_trunc, idle, pad
        self.encode, self.decode = encode, decode
        self.shape = encode(0, 0, 0).shape
        self.dtype = encode(0, 0, 0).dtype
        self.episode = [0] * num_envs
        self.step_in_episode = [0] * num_envs
        self.resetting = [False] * num_envs
        self.records: list[list[dict]] = [[] for _ in range(num_envs)]  # per env, in add order
        self.where: dict[tuple[int, int, int], tuple[int, int]] = {}  # (e, ep, s) -> (e, t)

    def frame(self, e: int, ep: int, s: int) -> np.ndarray:
        if s >= 0:
            return self.encode(e, ep, s)
        if self.pad == "zeros":
            return np.zeros(self.shape, self.dtype)
        if self.pad == "reset":
            return self.encode(e, ep, 0)
        return self.encode(e, ep, s)

    def observation(self, e: int, ep: int, s: int) -> np.ndarray:
        frames = np.stack([self.frame(e, ep, s - self.stack + 1 + i) for i in range(self.stack)])
        return frames if self.stack > 1 else frames[0]

    def step(self, *bufs: ReplayBuffer) -> None:
        """One step of every env, added to each of ``bufs``."""
        n = self.num_envs
        obs_shape = (n, self.stack, *self.shape) if self.stack > 1 else (n, *self.shape)
        garbage = np.iinfo(self.dtype).max // 2 + 3
        obs = np.full(obs_shape, garbage, self.dtype)
        next_obs = np.full(obs_shape, garbage, self.dtype)
        actions = self.rng.integers(0, 6, size=n)
        rewards = self.rng.integers(-8, 9, size=n) / 4.0
        u = self.rng.random(n)
        terminated = u < self.p_term
        truncated = (u >= self.p_term) & (u < self.p_term + self.p_trunc)
        mask = np.ones(n, bool)
        for e in range(n):
            ep, s = self.episode[e], self.step_in_episode[e]
            if self.resetting[e]:
                mask[e] = False
                self.resetting[e] = False
                self.episode[e] += 1
                self.step_in_episode[e] = 0
                continue
            if s == 0 and self.rng.random() < self.idle:
                mask[e] = False
                continue
            obs[e] = self.observation(e, ep, s)
            next_obs[e] = self.observation(e, ep, s + 1)
            self.where[(e, ep, s)] = (e, len(self.records[e]))
            self.records[e].append(
                dict(obs=obs[e].copy(), next_obs=next_obs[e].copy(), action=int(actions[e]),
                     reward=float(rewards[e]), terminated=bool(terminated[e]), truncated=bool(truncated[e]))
            )  # fmt: skip
            self.step_in_episode[e] += 1
            self.resetting[e] = bool(terminated[e] or truncated[e])
        for buf in bufs:
            buf.add(obs, actions, rewards, terminated, truncated, next_obs, mask=mask)

    def locate(self, obs_row: np.ndarray) -> tuple[int, int]:
        """(env, t) of the transition whose stored obs is ``obs_row``."""
        newest = obs_row[-1] if self.stack > 1 else obs_row
        return self.where[self.decode(newest)]

    def expected(self, e: int, t: int, n_step: int, gamma: float) -> tuple[float, float, np.ndarray]:
        """Reference n-step (return, discount, next_obs) of transition t of env e."""
        ret, records = 0.0, self.records[e]
        for k in range(n_step):
            rec = records[t + k]
            ret += gamma**k * rec["reward"]
            if rec["terminated"]:
                return ret, 0.0, rec["next_obs"]
            if rec["truncated"]:
                return ret, gamma ** (k + 1), rec["next_obs"]
        return ret, gamma**n_step, records[t + n_step - 1]["next_obs"]

    def sampleable(self, buf: ReplayBuffer, n_step: int, *, ring_frames: int | None = None) -> set[tuple[int, int]]:
        """(env, t) whose slot and frames are still in the rings and whose n-step window is complete."""
        capacity = buf.config.capacity // self.num_envs
        if ring_frames is None:
            ring_frames = buf.state_dict()["frames"].shape[1]  # frames per env ring
        out = set()
        for e, records in enumerate(self.records):
            first_frame, num_frames, start = [], 0, True
            for rec in records:  # frames stored: the whole obs stack at an episode start, then one per step
                num_frames += self.stack if start else 0
                first_frame.append(num_frames - self.stack)
                num_frames += 1
                start = rec["terminated"] or rec["truncated"]
            size = len(records)
            for t in range(max(0, size - capacity), size):
                window = records[t : t + n_step]
                complete = len(window) == n_step or any(r["terminated"] or r["truncated"] for r in window)
                if complete and first_frame[t] >= num_frames - ring_frames:
                    out.add((e, t))
        return out


def check_batch(batch: Batch, sim: Sim, config: ReplayConfig) -> list[tuple[int, int]]:
    """Every row equals the reference transition; returns the (env, t) of the rows."""
    rows = []
    assert batch.obs.dtype == sim.dtype and batch.next_obs.dtype == sim.dtype
    assert batch.actions.dtype == np.int64 and batch.indices.dtype == np.int64
    assert batch.rewards.dtype == batch.discounts.dtype == batch.weights.dtype == np.float32
    for b in range(len(batch.actions)):
        e, t = sim.locate(batch.obs[b])
        rec = sim.records[e][t]
        np.testing.assert_array_equal(batch.obs[b], rec["obs"])
        assert batch.actions[b] == rec["action"]
        ret, disc, next_obs = sim.expected(e, t, config.n_step, config.gamma)
        np.testing.assert_array_equal(batch.next_obs[b], next_obs)
        assert batch.rewards[b] == pytest.approx(ret, rel=1e-5, abs=1e-5)
        assert batch.discounts[b] == pytest.approx(disc, rel=1e-6, abs=0.0)
        rows.append((e, t))
    return rows


def sample_all(buf: ReplayBuffer, sim: Sim, per_item: int = 40) -> set[tuple[int, int]]:
    """Sample ~``per_item`` rows per sampleable transition, checking each; the set of rows seen."""
    seen: set[tuple[int, int]] = set()
    for _ in range(max(1, per_item * len(buf) // 256 + 1)):
        seen.update(check_batch(buf.sample(256), sim, buf.config))
    return seen


def make(config: ReplayConfig, sim: Sim, *, seed: int = 0) -> ReplayBuffer:
    return ReplayBuffer(config, obs_shape=sim.shape, obs_dtype=sim.dtype, num_envs=sim.num_envs,
                        stack=sim.stack, seed=seed)  # fmt: skip


# ---- stacks and episode boundaries ----------------------------------------------------


@pytest.mark.parametrize("pad", ["distinct", "zeros", "reset"])
@pytest.mark.parametrize("prioritized", [False, True])
def test_stacks_stay_in_one_episode_with_the_given_padding(pad, prioritized):
    sim = Sim(3, 4, seed=1, p_term=0.08, p_trunc=0.05, idle=0.3, pad=pad)
    config = ReplayConfig(capacity=3000, n_step=1, prioritized=prioritized)
    buf = make(config, sim)
    for _ in range(150):
        sim.step(buf)
    expected = sim.sampleable(buf, 1)
    assert len(buf) == len(expected) == sum(map(len, sim.records))  # no wrap yet: everything is there
    assert sample_all(buf, sim) == expected
    episode_starts = [(e, t) for e, recs in enumerate(sim.records) for t in range(len(recs))
                      if t == 0 or recs[t - 1]["terminated"] or recs[t - 1]["truncated"]]  # fmt: skip
    assert len(episode_starts) > 3 * 4  # the check above went through many padded first stacks


@pytest.mark.parametrize("prioritized", [False, True])
def test_atari_frames_after_wrap_around(prioritized):
    sim = Sim(3, 4, seed=2, p_term=0.02, p_trunc=0.01, pad="zeros", encode=encode_atari, decode=decode_atari)
    config = ReplayConfig(capacity=3 * 60, n_step=3, gamma=0.9, prioritized=prioritized)
    buf = make(config, sim, seed=3)
    for _ in range(400):  # each ring wraps ~6 times
        sim.step(buf)
    expected = sim.sampleable(buf, 3)
    assert len(buf) == len(expected) > 3 * 45
    assert expected < sim.sampleable(buf, 3, ring_frames=10**9)  # some left because their frames were overwritten
    assert sample_all(buf, sim) == expected
    assert min(t for _, t in expected) > 250  # only recent transitions


@settings(max_examples=60, deadline=None)
@given(
    num_envs=st.integers(1, 3),
    stack=st.integers(1, 4),
    n_step=st.integers(1, 4),
    per_env=st.integers(4, 30),
    steps=st.integers(1, 120),
    p_end=st.sampled_from([0.0, 0.1, 0.3, 0.6]),
    prioritized=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_every_sample_matches_the_reference(num_envs, stack, n_step, per_env, steps, p_end, prioritized, seed):
    sim = Sim(num_envs, stack, seed=seed, p_term=p_end / 2, p_trunc=p_end / 2, idle=0.2)
    config = ReplayConfig(capacity=num_envs * per_env, n_step=n_step, gamma=0.8, prioritized=prioritized)
    buf = make(config, sim, seed=seed)
    for _ in range(steps):
        sim.step(buf)
    expected = sim.sampleable(buf, n_step)
    assert len(buf) == len(expected)
    if not expected:
        with pytest.raises(ValueError, match="no complete transitions"):
            buf.sample(4)
        return
    assert sample_all(buf, sim) == expected


def test_masked_rows_are_not_stored():
    sim = Sim(2, 2, seed=4)
    buf = make(ReplayConfig(capacity=100), sim)
    obs = np.ones((2, 2, 3), np.int32)
    buf.add(obs, [0, 0], [0.0, 0.0], [True, True], [False, False], obs, mask=[False, False])
    assert len(buf) == 0
    assert buf.state_dict()["num_added"].tolist() == [0, 0]
    buf.add(obs, [0, 0], [0.0, 0.0], [True, False], [False, False], obs, mask=[True, False])
    assert len(buf) == 1
    assert buf.state_dict()["num_added"].tolist() == [1, 0]


# ---- n-step returns ---------------------------------------------------------------------


def test_n_step_returns_across_terminal_and_truncation():
    # one env, stack 1: episode 0 (4 steps, terminated), episode 1 (3 steps, truncated),
    # episode 2 (5 steps, still running); obs = 100 * episode + step, reward of the i-th add = i + 1
    gamma = 0.5
    buf = ReplayBuffer(ReplayConfig(capacity=64, n_step=3, gamma=gamma), obs_shape=(1,), obs_dtype=np.float32, seed=0)
    plan = [(0, 4, "term"), (1, 3, "trunc"), (2, 5, None)]
    reference = {}
    i = 0
    for ep, length, end in plan:
        for s in range(length):
            last = s == length - 1
            buf.add([[100 * ep + s]], [i % 3], [i + 1.0], [last and end == "term"], [last and end == "trunc"],
                    [[100 * ep + s + 1]])  # fmt: skip
            reference[100 * ep + s] = i
            i += 1
    assert len(buf) == 4 + 3 + (5 - 2)  # the last n-1 steps of the running episode are not complete
    rewards = np.arange(1.0, 13.0)
    ends = {3: "term", 6: "trunc"}  # add index -> how the episode ended there

    def reference_transition(i):
        ret = 0.0
        for k in range(3):
            ret += gamma**k * rewards[i + k]
            if ends.get(i + k) == "term":
                return ret, 0.0, k + 1
            if ends.get(i + k) == "trunc":
                return ret, gamma ** (k + 1), k + 1
        return ret, gamma**3, 3

    seen = {}
    for _ in range(20):
        batch = buf.sample(64)
        for b in range(64):
            obs = int(batch.obs[b, 0])
            i = reference[obs]
            ret, disc, k = reference_transition(i)
            assert batch.rewards[b] == pytest.approx(ret)
            assert batch.discounts[b] == pytest.approx(disc)
            assert int(batch.next_obs[b, 0]) == obs + k
            assert batch.actions[b] == i % 3
            seen[i] = (float(batch.rewards[b]), float(batch.discounts[b]), int(batch.next_obs[b, 0]))
    assert sorted(seen) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    # a few by hand
    assert seen[2] == (3 + 0.5 * 4, 0.0, 4)  # K=2, the episode terminated
    assert seen[3] == (4.0, 0.0, 4)  # the terminal step itself
    assert seen[4] == (5 + 0.5 * 6 + 0.25 * 7, 0.125, 103)  # truncation at the 3rd step still bootstraps
    assert seen[6] == (7.0, 0.5, 103)  # the truncated step: the final observation, gamma^1
    assert seen[7] == (8 + 0.5 * 9 + 0.25 * 10, 0.125, 203)


# ---- prioritized replay -------------------------------------------------------------------


def filled_per(num: int, *, alpha=0.6, capacity=16):
    """One env, stack 1, n 1, ``num`` transitions of one long episode; obs = [t]."""
    config = ReplayConfig(capacity=capacity, prioritized=True, alpha=alpha)
    buf = ReplayBuffer(config, obs_shape=(1,), obs_dtype=np.int32, seed=7)
    for t in range(num):
        buf.add([[t]], [0], [0.0], [False], [False], [[t + 1]])
    return buf


def handles(buf: ReplayBuffer, num: int) -> np.ndarray:
    """The handle of each transition t (identified by its obs)."""
    out = np.full(num, -1, np.int64)
    while (out < 0).any():
        batch = buf.sample(64)
        out[batch.obs[:, 0]] = batch.indices
    return out


def frequencies(buf: ReplayBuffer, size: int, num_draws: int = 400, batch_size: int = 256) -> np.ndarray:
    counts = np.zeros(size)
    for _ in range(num_draws):
        np.add.at(counts, buf.sample(batch_size).obs[:, 0], 1)
    return counts


def chi_square(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = counts.sum() * probs
    return float(((counts - expected) ** 2 / expected).sum())


CHI2_999 = {7: 24.32, 8: 26.12, 9: 27.88, 11: 31.26}  # 0.999 quantiles by degrees of freedom


def test_per_frequencies_follow_priority_to_the_alpha():
    buf = filled_per(8)
    counts = frequencies(buf, 8)  # all new transitions share the max priority: uniform
    assert chi_square(counts, np.full(8, 1 / 8)) < CHI2_999[7]
    td = np.array([0.1, 0.5, 1.0, 2.0, 3.0, 0.02, 4.0, -0.25])  # the sign of a td error does not matter
    buf.update_priorities(handles(buf, 8), td)
    probs = (np.abs(td) + 1e-6) ** 0.6
    probs /= probs.sum()
    counts = frequencies(buf, 8)
    assert chi_square(counts, probs) < CHI2_999[7]
    np.testing.assert_allclose(counts / counts.sum(), probs, atol=0.005)
    # priority**1 (alpha ignored) or uniform would be far off
    linear = (np.abs(td) + 1e-6) / (np.abs(td) + 1e-6).sum()
    assert chi_square(counts, linear) > 1000 and chi_square(counts, np.full(8, 1 / 8)) > 1000


def test_per_new_transitions_get_the_max_priority_and_weights_follow_the_formula():
    buf = filled_per(8)
    td = np.array([0.1, 0.5, 1.0, 2.0, 3.0, 0.02, 4.0, 0.25])
    buf.update_priorities(handles(buf, 8), td)
    buf.add([[8]], [0], [0.0], [False], [False], [[9]])  # enters at max(|td| + eps) = 4 + eps
    p = np.append(np.abs(td) + 1e-6, 4 + 1e-6) ** 0.6
    probs = p / p.sum()
    counts = frequencies(buf, 9)
    assert chi_square(counts, probs) < CHI2_999[8]
    for beta in (0.4, 1.0, 0.0):
        batch = buf.sample(128, beta=beta)
        w = (9 * probs[batch.obs[:, 0]]) ** -beta
        np.testing.assert_allclose(batch.weights, w / w.max(), rtol=1e-5)
    batch = buf.sample(128)  # beta defaults to beta0
    w = (9 * probs[batch.obs[:, 0]]) ** -0.4
    np.testing.assert_allclose(batch.weights, w / w.max(), rtol=1e-5)


def test_per_alpha_zero_is_uniform_and_stale_handles_are_ignored():
    buf = filled_per(8, alpha=0.0)
    buf.update_priorities(handles(buf, 8), np.arange(8) * 10.0)
    assert chi_square(frequencies(buf, 8), np.full(8, 1 / 8)) < CHI2_999[7]

    buf = filled_per(8, capacity=8)
    old = handles(buf, 8)
    for t in range(8, 20):  # the ring of 8 now holds t = 12..19
        buf.add([[t]], [0], [0.0], [False], [False], [[t + 1]])
    live = buf.sample(1).indices  # a current transition, updated along with them to its current priority
    # the slots of t = 0, 1, 2 now hold t = 16, 17, 18: the stale part of the update must not reach them
    buf.update_priorities(np.concatenate([old[:3], live]), [1000.0, 1000.0, 1000.0, 1.0])
    counts = frequencies(buf, 20)
    assert counts[:12].sum() == 0
    assert chi_square(counts[12:], np.full(8, 1 / 8)) < CHI2_999[7]
    buf.add([[20]], [0], [0.0], [False], [False], [[21]])  # would enter at 1000 if the stale update counted
    counts = frequencies(buf, 21)
    assert chi_square(counts[13:], np.full(8, 1 / 8)) < CHI2_999[7]


def test_uniform_is_uniform_over_transitions_not_envs():
    # env 1 stops after 3 transitions: 10 + 3 sampleable, each with probability 1/13
    buf = ReplayBuffer(ReplayConfig(capacity=40), obs_shape=(1,), obs_dtype=np.int32, num_envs=2, seed=9)
    for t in range(10):
        mask = [True, t < 3]
        buf.add([[t], [100 + t]], [0, 0], [0.0, 0.0], [False, False], [False, False], [[t + 1], [101 + t]], mask=mask)
    assert len(buf) == 13
    counts = np.zeros(13)
    for _ in range(200):
        batch = buf.sample(256)
        assert np.all(batch.weights == 1.0)
        obs = batch.obs[:, 0]
        np.add.at(counts, np.where(obs >= 100, obs - 100 + 10, obs), 1)
    assert chi_square(counts, np.full(13, 1 / 13)) < 32.91  # df 12
    buf.update_priorities(batch.indices, np.ones(256))  # accepted, no effect


# ---- checkpoints ------------------------------------------------------------------------------


def assert_same_batch(a: Batch, b: Batch) -> None:
    for name, x, y in zip(Batch._fields, a, b):
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("prioritized", [False, True])
def test_state_dict_round_trip_gives_identical_samples(prioritized, tmp_path):
    config = ReplayConfig(capacity=120, n_step=3, prioritized=prioritized)
    sim = Sim(3, 4, seed=6, p_term=0.1, p_trunc=0.05, idle=0.2)
    a = make(config, sim, seed=1)
    for _ in range(90):
        sim.step(a)
    for _ in range(3):
        batch = a.sample(32)
        a.update_priorities(batch.indices, np.abs(batch.rewards) + 0.1)
    np.savez(tmp_path / "replay.npz", **a.state_dict())
    with np.load(tmp_path / "replay.npz") as saved:
        state = {k: saved[k] for k in saved.files}
    b = make(config, sim, seed=12345)  # a different seed: the RNG state travels in the state dict
    b.load_state_dict(state)
    assert len(b) == len(a)
    for _ in range(5):
        batch = a.sample(32)
        assert_same_batch(batch, b.sample(32))
        a.update_priorities(batch.indices, np.abs(batch.rewards) + 0.5)
        b.update_priorities(batch.indices, np.abs(batch.rewards) + 0.5)
    for _ in range(40):  # both keep going the same way: the same adds give the same samples
        sim.step(a, b)
    for _ in range(5):
        assert_same_batch(a.sample(32), b.sample(32))
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)


def test_load_state_dict_names_what_does_not_match():
    config = ReplayConfig(capacity=40, n_step=2, prioritized=True)
    buf = ReplayBuffer(config, obs_shape=(3,), obs_dtype=np.int32, stack=2)
    state = buf.state_dict()
    other = ReplayBuffer(config, obs_shape=(4,), obs_dtype=np.int32, stack=2)
    with pytest.raises(ValueError, match="'frames'"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="'frames'"):
        ReplayBuffer(config, obs_shape=(3,), obs_dtype=np.uint8, stack=2).load_state_dict(state)
    with pytest.raises(ValueError, match="'frames'"):  # another capacity
        ReplayBuffer(ReplayConfig(capacity=80, n_step=2, prioritized=True), obs_shape=(3,), obs_dtype=np.int32,
                     stack=2).load_state_dict(state)  # fmt: skip
    with pytest.raises(ValueError, match="'actions'"):
        buf.load_state_dict({**state, "actions": np.zeros((1, 41), np.int32)})
    with pytest.raises(ValueError, match="'rewards'"):
        buf.load_state_dict({**state, "rewards": state["rewards"].astype(np.float64)})
    with pytest.raises(ValueError, match="'extra'"):
        buf.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match="'n_step'"):
        ReplayBuffer(ReplayConfig(capacity=40, n_step=3, prioritized=True), obs_shape=(3,), obs_dtype=np.int32,
                     stack=2).load_state_dict(state)  # fmt: skip
    with pytest.raises(ValueError, match="'priorities'"):
        ReplayBuffer(ReplayConfig(capacity=40, n_step=2), obs_shape=(3,), obs_dtype=np.int32,
                     stack=2).load_state_dict(state)  # fmt: skip
    missing = {k: v for k, v in state.items() if k != "rng_state"}
    with pytest.raises(ValueError, match="'rng_state'"):
        buf.load_state_dict(missing)
    buf.load_state_dict(state)  # its own state loads


# ---- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("capacity", 0), ("capacity", -5), ("capacity", 10.5), ("capacity", True),
        ("n_step", 0), ("n_step", 1.0),
        ("gamma", -0.1), ("gamma", 1.01), ("gamma", math.nan), ("gamma", "0.9"),
        ("prioritized", 1), ("prioritized", "yes"),
        ("alpha", -0.1), ("alpha", math.inf),
        ("beta0", -0.1), ("beta0", 1.5),
        ("eps", 0.0), ("eps", -1e-6), ("eps", math.nan),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        ReplayConfig(**{field: value})


def test_config_defaults_and_normalised_types():
    config = ReplayConfig(gamma=1, alpha=np.float32(0.5))
    assert config.capacity == 1_000_000 and config.n_step == 1 and config.prioritized is False
    assert isinstance(config.gamma, float) and isinstance(config.alpha, float)
    with pytest.raises(AttributeError):
        config.gamma = 0.5  # frozen


def test_buffer_argument_errors():
    config = ReplayConfig(capacity=20, n_step=3)
    with pytest.raises(ValueError, match="n_step"):
        ReplayBuffer(config, obs_shape=(2,), num_envs=10)
    buf = ReplayBuffer(config, obs_shape=(2,), num_envs=2, stack=3)
    good = np.zeros((2, 3, 2), np.uint8)
    with pytest.raises(ValueError, match="next_obs"):
        buf.add(good, [0, 0], [0, 0], [0, 0], [0, 0], np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="actions"):
        buf.add(good, [0], [0, 0], [0, 0], [0, 0], good)
    with pytest.raises(ValueError, match="obs"):
        buf.add(good.astype(np.float32), [0, 0], [0, 0], [0, 0], [0, 0], good)  # float frames into uint8
    with pytest.raises(ValueError, match="no complete transitions"):
        buf.sample(1)
    buf.add(good, [0, 0], [0, 0], [1, 1], [0, 0], good)
    with pytest.raises(ValueError, match="batch_size"):
        buf.sample(0)
    with pytest.raises(ValueError, match="beta"):
        buf.sample(2, beta=-1.0)
    with pytest.raises(ValueError, match="priorities"):
        buf.update_priorities([0, 1], [np.nan, 1.0])


# ---- memory ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_envs", [1, 8])
@pytest.mark.parametrize("prioritized", [False, True])
def test_atari_memory_per_transition(num_envs, prioritized):
    capacity = 100_000
    buf = ReplayBuffer(ReplayConfig(capacity=capacity, prioritized=prioritized), obs_shape=(84, 84),
                       num_envs=num_envs, stack=4)  # fmt: skip
    bytes_per_transition = buf.nbytes / capacity
    assert 84 * 84 <= bytes_per_transition <= 7200  # each frame once: a stored stack would be 4x
    ring = buf.state_dict()["frames"]
    assert ring.dtype == np.uint8 and ring.shape[2:] == (84, 84)
    assert ring.shape[0] * ring.shape[1] <= 1.01 * capacity + num_envs * 4
