"""Compiled replay kernels over struct-of-arrays storage.

Storage of a buffer with ``N`` environments, ``C`` transitions and ``F``
frames per environment, and ``D`` values per frame:

``frames``      [N, F, D]  each frame once, ring per environment
``actions``     [N, C] int32, ``rewards`` [N, C] float32
``terminated``  [N, C] bool, ``truncated`` [N, C] bool
``frame_index`` [N, C] int64: global index (count of frames written to that
                environment before it) of the newest frame of ``next_obs``.
                The ``obs`` stack of the transition is the ``stack`` frames
                before it, its ``next_obs`` stack the ``stack`` frames ending
                at it; frames of one episode are consecutive, so stacks never
                cross an episode boundary.

Per-environment counters (int64 [N] unless noted) are indexed by the global
transition number ``t`` of the environment (its slot is ``t % C``):

``num_added``     transitions written so far
``num_frames``    frames written so far (frame ``f`` lives at ``f % F``)
``last_end``      ``t`` of the newest terminated-or-truncated transition, or -1
``episode_start`` bool: the next add starts an episode (writes its obs stack)
``lo``, ``hi``    the sampleable transitions are ``lo <= t < hi``

A transition is sampleable when its slot and all its frames are still in the
rings (``t >= lo``) and its n-step window is complete: ``n_step`` transitions
were added from it on, or the episode ended within them (``t < hi``).

The sum tree of prioritized replay is a flat float64 array of ``2 * M``
nodes over ``M = N * C`` leaves: node ``i`` has children ``2i`` and ``2i+1``,
the root is node 1, leaf ``j`` is node ``M + j`` and node 0 is unused.  This
holds for any ``M``, not only powers of two (leaves then sit at two depths).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _copy(dst, src):
    """dst[:] = src[:] for 1-d arrays (an explicit loop: numba's slice assignment is ~10x slower)."""
    for d in range(src.shape[0]):
        dst[d] = src[d]


@njit(cache=True)
def add_step(
    frames, actions, rewards, terminated, truncated, frame_index,
    num_added, num_frames, last_end, episode_start, lo, hi,
    obs, next_obs, act_in, rew_in, term_in, trunc_in, mask, n_step,
):  # fmt: skip
    """Write one step of ``N`` environments (rows with ``mask`` False are skipped).

    ``obs``/``next_obs`` are [N, S, D]; only the newest frame of ``next_obs``
    is stored, and all ``S`` frames of ``obs`` at an episode start.
    """
    num_envs, num_slots_f, _ = frames.shape
    capacity = actions.shape[1]
    stack = obs.shape[1]
    for e in range(num_envs):
        if not mask[e]:
            continue
        if episode_start[e]:
            for j in range(stack):
                _copy(frames[e, (num_frames[e] + j) % num_slots_f], obs[e, j])
            num_frames[e] += stack
        _copy(frames[e, num_frames[e] % num_slots_f], next_obs[e, stack - 1])
        t = num_added[e]
        slot = t % capacity
        actions[e, slot] = act_in[e]
        rewards[e, slot] = rew_in[e]
        terminated[e, slot] = term_in[e]
        truncated[e, slot] = trunc_in[e]
        frame_index[e, slot] = num_frames[e]
        num_frames[e] += 1
        num_added[e] = t + 1
        ended = term_in[e] or trunc_in[e]
        if ended:
            last_end[e] = t
        episode_start[e] = ended
        # the complete n-step windows: a prefix of the transitions
        hi[e] = max(hi[e], num_added[e] - n_step + 1, last_end[e] + 1)
        # the slots and frames still in the rings: a suffix
        new_lo = max(lo[e], num_added[e] - capacity)
        oldest_frame = num_frames[e] - num_slots_f
        while new_lo < num_added[e] and frame_index[e, new_lo % capacity] - stack < oldest_frame:
            new_lo += 1
        lo[e] = new_lo


@njit(cache=True)
def _transition(rewards, terminated, truncated, frame_index, e, t, n_step, gamma):
    """(n-step return, discount, frame index of the n-step next observation)."""
    capacity = rewards.shape[1]
    ret = 0.0
    scale = 1.0
    last = t
    terminal = False
    for k in range(n_step):
        s = (t + k) % capacity
        ret += scale * rewards[e, s]
        scale *= gamma
        last = t + k
        if terminated[e, s]:
            terminal = True
            break
        if truncated[e, s]:
            break
    return ret, 0.0 if terminal else scale, frame_index[e, last % capacity]


@njit(cache=True)
def _gather_row(frames, actions, rewards, terminated, truncated, frame_index,
                env, t, n_step, gamma, obs_out, next_out, act_out, rew_out, disc_out, b):  # fmt: skip
    num_slots_f = frames.shape[1]
    capacity = actions.shape[1]
    stack = obs_out.shape[1]
    e = env[b]
    slot = t[b] % capacity
    f = frame_index[e, slot]
    for j in range(stack):
        _copy(obs_out[b, j], frames[e, (f - stack + j) % num_slots_f])
    ret, disc, f_next = _transition(rewards, terminated, truncated, frame_index, e, t[b], n_step, gamma)
    for j in range(stack):
        _copy(next_out[b, j], frames[e, (f_next - stack + 1 + j) % num_slots_f])
    act_out[b] = actions[e, slot]
    rew_out[b] = ret
    disc_out[b] = disc


@njit(cache=True)
def gather(
    frames, actions, rewards, terminated, truncated, frame_index,
    env, t, n_step, gamma, obs_out, next_out, act_out, rew_out, disc_out,
):  # fmt: skip
    """Rebuild the sampled n-step transitions ``(env[b], t[b])`` into the ``*_out`` arrays."""
    for b in range(env.shape[0]):
        _gather_row(frames, actions, rewards, terminated, truncated, frame_index,
                    env, t, n_step, gamma, obs_out, next_out, act_out, rew_out, disc_out, b)  # fmt: skip


@njit(cache=True)
def _tree_set(tree, leaf, value):
    num_leaves = tree.shape[0] // 2
    i = leaf + num_leaves
    tree[i] = value
    i //= 2
    while i >= 1:
        tree[i] = tree[2 * i] + tree[2 * i + 1]
        i //= 2


@njit(cache=True)
def tree_set(tree, leaves, values):
    """Set leaves (in order: a repeated leaf keeps its last value) and their ancestors."""
    for k in range(leaves.shape[0]):
        _tree_set(tree, leaves[k], values[k])


@njit(cache=True)
def tree_track(tree, capacity, old_lo, old_hi, lo, hi, value):
    """Follow the sampleable ranges from [old_lo, old_hi) to [lo, hi) for every environment.

    Transitions that left the range get priority 0, those that entered it ``value``.
    """
    for e in range(lo.shape[0]):
        for t in range(old_lo[e], min(lo[e], old_hi[e])):
            _tree_set(tree, e * capacity + t % capacity, 0.0)
        for t in range(max(old_hi[e], lo[e]), hi[e]):
            _tree_set(tree, e * capacity + t % capacity, value)


@njit(cache=True)
def tree_sample(tree, u):
    """Stratified proportional sampling: leaf of the prefix sum ``(b + u[b]) / B * total``."""
    num_leaves = tree.shape[0] // 2
    batch = u.shape[0]
    total = tree[1]
    out = np.empty(batch, np.int64)
    for b in range(batch):
        x = (b + u[b]) / batch * total
        i = 1
        while i < num_leaves:
            left = 2 * i
            # rounding may leave x >= tree[left] with an empty right subtree: stay left
            if x < tree[left] or tree[left + 1] <= 0.0:
                i = left
            else:
                x -= tree[left]
                i = left + 1
        out[b] = i - num_leaves
    return out


@njit(cache=True)
def tree_rebuild(tree):
    """Recompute every inner node from the leaves."""
    for i in range(tree.shape[0] // 2 - 1, 0, -1):
        tree[i] = tree[2 * i] + tree[2 * i + 1]
