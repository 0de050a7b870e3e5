"""Batched leaf states for tree search over many Go games (compiled, no Python per move or point).

A search over T games holds T root positions (``Roots``) and, at each step,
B leaves to evaluate: leaf b is root ``tree_of[b]`` with the moves
``paths[b, :depths[b]]`` played (flat points, pass = N*N, every move known
legal).  From these:

``play_paths``     the leaf states (``Leaves``: stacked ``s``/``g``/``hist`` as in
                   ``_core``), the moves the tree may try (legal under the game's
                   full rules, superko included, and not filling the mover's own
                   single-point eye; pass always), terminal flags (two passes in a
                   row, or the game's move cap when the caller set one: there is
                   none by default), Tromp-Taylor scores (black minus white
                   area minus komi), side to move and the last two moves.
``encode_leaves``  the network planes of each leaf, exactly
                   ``features.encode_position(leaf position, encoder)``: the
                   history planes (turns since, AlphaGo Zero's past boards) come
                   from the root's history (``features._history`` at the root)
                   followed by the path.
``rollout_leaves`` one playout per leaf (``RolloutPolicy`` or uniformly random
                   sensible moves), scored like ``score``; ``owner_leaves`` also
                   returns each playout's final owner of every point.  A playout
                   counts its own passes and moves: from a terminal leaf (two
                   passes) it still plays, and so captures the dead stones.
``sensible_mask``  the same row of moves the tree may try, for one ``Position``
                   (the ``policy:`` player's moves).

``Roots.advance`` plays one move in every root in place (compiled: state, superko
history, last moves and the encoders' history), so that batched self-play need not
build ``Position`` objects per move.

Playing, legality, scoring and the encoders' history run in one GIL-free
compiled kernel per slice of the batch, the planes in ``features._encode_states``
(the compiled entry ``encode_position`` uses too); uniform rollouts run in one
kernel per slice, policy rollouts call the GIL-free compiled playout of
``rollout`` once per leaf (the entry ``rollout_playouts`` uses: a playout costs
far more than the call, and the large sampler is compiled once).  Slices are
spread over the shared thread pool of ``_pool`` (``numba.get_num_threads()``
threads by default).  Leaf b of a rollout seeds its own generator from
(seed, b), so results do not depend on the thread count.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import njit

from games.go import _core, coords
from games.go import features as _features
from games.go import rollout as _rollout
from games.go._pool import run_slices
from games.go._core import COLOR, EMPTY, EMPTY_LIST, KO, KO_SIMPLE, MOVES, NUM_EMPTY, NUM_HIST, PASSES, TO_MOVE
from games.go.board import KO_RULES, color_name

__all__ = ["Leaves", "Roots", "encode_leaves", "owner_leaves", "play_and_encode", "play_paths", "rollout_leaves",
           "sensible_mask"]

_OLD = _features._OLD
_NO_ENCODE = -1
_NO_CAP = -1  # the play kernel's move_cap for "no cap"
_MIN_CHUNK = 16  # leaves per thread at least (play/encode)
_MIN_ROLLOUT_CHUNK = 2  # leaves per thread at least (rollouts)


class Leaves(NamedTuple):
    """B leaf states (see the module docstring).  M = N*N points."""

    s: np.ndarray  # int32 [B, NUM_ROWS, M]
    g: np.ndarray  # int64 [B, NUM_SCALARS]
    hist: np.ndarray  # int64 [B, 2, H]  (first g[b, NUM_HIST] entries used)
    legal: np.ndarray  # bool [B, M + 1]  moves the tree may try (pass always True)
    terminal: np.ndarray  # bool [B]
    score: np.ndarray  # float64 [B]  area black minus white minus komi
    to_move: np.ndarray  # int64 [B]  BLACK / WHITE
    last: np.ndarray  # int64 [B]  last move, -1 for none or pass
    last2: np.ndarray  # int64 [B]  the move before, -1 for none or pass
    komi: np.ndarray  # float64 [B]


class Roots:
    """T root positions of one board size, stacked for the compiled kernels.

    Built by ``Roots.from_positions`` and moved on by ``advance``.  Besides the
    states it keeps, per root, the rules (komi, ko rule, suicide), the last two
    moves and the history the encoders need (``trace`` as in ``_core``, and from
    it ``age`` int32 [T, M] turns since each stone was played and ``boards`` int8
    [T, 8, M] the boards before the last moves).
    """

    def __init__(self, size: int, s, g, hist, komi, ko_rule, allow_suicide, last, last2, age, boards, trace,
                 move_cap: int | None):
        self.size = int(size)
        self.s = s  # int32 [T, NUM_ROWS, M]
        self.g = g  # int64 [T, NUM_SCALARS]
        self.hist = hist  # int64 [T, 2, H]
        self.komi = komi  # float64 [T]
        self.ko_rule = ko_rule  # int64 [T]
        self.allow_suicide = allow_suicide  # bool [T]
        self.last = last  # int64 [T]
        self.last2 = last2  # int64 [T]
        self.age = age  # int32 [T, M]
        self.boards = boards  # int8 [T, 8, M]
        self.trace = trace  # int8 [T, TRACE_ROWS, M]
        self.move_cap = None if move_cap is None else int(move_cap)  # None: no cap

    def __len__(self) -> int:
        return self.s.shape[0]

    @property
    def num_points(self) -> int:
        return self.size * self.size

    @classmethod
    def from_positions(cls, positions, *, move_cap: int | None = None) -> Roots:
        """Stack ``positions`` (a non-empty list of ``Position`` of one board size).

        ``move_cap``: a leaf whose game has this many moves (passes included,
        counted from the start of the game) is terminal.  The default, None, is no
        cap: caps belong to self-play, not to a game against a person or an engine.
        """
        positions = list(positions)
        if not positions:
            raise ValueError("Roots.from_positions needs at least one position")
        size = positions[0].size
        for i, pos in enumerate(positions):
            if pos.size != size:
                raise ValueError(f"Roots.from_positions: position {i} is {pos.size}x{pos.size}, "
                                 f"position 0 is {size}x{size}")
        t = len(positions)
        m = size * size
        if move_cap is not None and int(move_cap) < 1:
            raise ValueError(f"move_cap must be >= 1 or None, got {move_cap!r}")
        nh = max(int(p._g[NUM_HIST]) for p in positions)
        s = np.empty((t, _core.NUM_ROWS, m), np.int32)
        g = np.empty((t, _core.NUM_SCALARS), np.int64)
        hist = np.zeros((t, 2, max(nh, 1)), np.int64)
        komi = np.empty(t, np.float64)
        ko_rule = np.empty(t, np.int64)
        suicide = np.empty(t, np.bool_)
        last = np.empty(t, np.int64)
        last2 = np.empty(t, np.int64)
        age = np.empty((t, m), np.int32)
        boards = np.empty((t, 8, m), np.int8)
        trace = np.empty((t, _core.TRACE_ROWS, m), np.int8)
        for i, pos in enumerate(positions):
            s[i] = pos._s
            g[i] = pos._g
            n = int(pos._g[NUM_HIST])
            hist[i, :, :n] = pos._hist.arr[:, :n]
            komi[i] = pos.rules.komi
            ko_rule[i] = KO_RULES[pos.rules.ko]
            suicide[i] = pos.rules.allow_suicide
            last[i], last2[i] = _rollout._last_moves(pos)
            age[i], boards[i] = _features._history(pos)
            trace[i] = pos._trace
        return cls(size, s, g, hist, komi, ko_rule, suicide, last, last2, age, boards, trace, move_cap)

    def advance(self, moves) -> None:
        """Play ``moves[t]`` (int [T]: a point, pass = N*N, or -1 to leave root t as it is) for the side
        to move in every root, in place: one compiled kernel updates the states, the superko history,
        the last two moves and the encoders' history, exactly as ``Position.play`` would.

        Every move must be legal under the root's full rules; otherwise ValueError naming the first
        bad root, and no root is changed.
        """
        moves = np.ascontiguousarray(moves, np.int64)
        if moves.shape != (len(self),):
            raise ValueError(f"Roots.advance: moves must have shape ({len(self)},), got {moves.shape}")
        need = int(self.g[:, NUM_HIST].max()) + 1
        cap = self.hist.shape[2]
        if need > cap:  # room for one more superko entry per root (doubling: amortised)
            hist = np.zeros((len(self), 2, max(need, 2 * cap)), np.int64)
            hist[:, :, :cap] = self.hist
            self.hist = hist
        nbr, num_nbr, _, _, zob = _geo_args(self.size)
        bad = _advance_kernel(self.s, self.g, self.hist, self.trace, self.ko_rule, self.allow_suicide, self.last,
                              self.last2, self.age, self.boards, moves, nbr, num_nbr, zob)
        if bad >= 0:
            mv = int(moves[bad])
            m = self.num_points
            what = coords.to_gtp(mv, self.size) if 0 <= mv <= m else str(mv)
            raise ValueError(f"Roots.advance: root {bad}: {what} is not a legal move for "
                             f"{color_name(int(self.g[bad, TO_MOVE]))} (moves are points 0..{m - 1}, "
                             f"pass = {m}, or -1 for none)")


# ---- kernels ------------------------------------------------------------------------------

_BLOOM_BITS = 1 << 12
_BLOOM_WORDS = _BLOOM_BITS // 64


@njit(cache=True)
def _sensible_row(s, g, hist, nbr, num_nbr, diag, num_diag, zob, c, ko_rule, allow_suicide, row, bloom):
    """row bool [M + 1]: the moves of c that ``_core.is_legal`` allows and that do not fill c's own
    eye (``_core.is_eye``); pass True.

    Built from ``is_legal``'s own pieces (``stone_move``, ``hash_after``, ``repeats``, inlined into
    this loop, so no call per point); ``tests/games/go/test_batch.py`` checks the result against
    ``Position.legal_mask``.  ``bloom`` uint64 [_BLOOM_WORDS] is scratch: a bit per history hash, so
    that most moves skip the scan of the history.
    """
    m = s.shape[1]
    opp = 3 - c
    n_hist = g[NUM_HIST]
    if ko_rule != KO_SIMPLE:
        for j in range(bloom.shape[0]):
            bloom[j] = 0
        for j in range(n_hist):
            v = np.uint64(hist[0, j]) & np.uint64(_BLOOM_BITS - 1)
            bloom[v >> np.uint64(6)] |= np.uint64(1) << (v & np.uint64(63))
    for p in range(m):
        row[p] = False
    row[m] = True
    for i in range(g[NUM_EMPTY]):
        p = s[EMPTY_LIST, i]
        if _core.is_eye(s, nbr, num_nbr, diag, num_diag, p, c):
            continue
        allowed, suicide = _core.stone_move(s, nbr, num_nbr, p, c, allow_suicide)
        if not allowed:
            continue
        if ko_rule == KO_SIMPLE:
            row[p] = p != g[KO]
            continue
        x = _core.hash_after(s, g, nbr, num_nbr, zob, p, c, suicide)
        v = np.uint64(x) & np.uint64(_BLOOM_BITS - 1)
        if (bloom[v >> np.uint64(6)] >> (v & np.uint64(63))) & np.uint64(1) == 0:
            row[p] = True  # not in the history: no need to scan it
            continue
        row[p] = not _core.repeats(hist, n_hist, x, opp, ko_rule)


def sensible_mask(position, color: int | None = None) -> np.ndarray:
    """bool [N*N + 1]: the moves of ``color`` (default: the side to move) in ``position`` that its rules
    allow and that do not fill ``color``'s own single-point eye (``_core.is_eye``), pass True: the row
    a leaf of this position carries in ``Leaves.legal`` (the same compiled ``_sensible_row``)."""
    c = position.to_move if color is None else int(color)
    if c not in (1, 2):
        raise ValueError(f"color must be BLACK (1) or WHITE (2), got {color!r}")
    geo = position._geo
    row = np.empty(position.size * position.size + 1, np.bool_)
    bloom = np.empty(_BLOOM_WORDS, np.uint64)
    _sensible_row(position._s, position._g, position._hist.arr, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag,
                  geo.zob, c, KO_RULES[position.rules.ko], position.rules.allow_suicide, row, bloom)
    return row


@njit(cache=True, nogil=True)
def _play_kernel(rs, rg, rhist, rkomi, rko, rsuicide, rlast, rlast2, rage, rboards, move_cap, tree_of, paths, depths,
                 lo, hi, nbr, num_nbr, diag, num_diag, zob, want_leaves, s_out, g_out, hist_out, legal, terminal, score,
                 to_move, ko, last, last2, komi, code, age_out, boards_out):
    """Leaves lo..hi-1: play the paths into ``s_out``/``g_out``/``hist_out``, set ``to_move`` and ``ko``;
    with ``want_leaves`` fill the other leaf outputs; for encoder ``code`` >= 0 fill the history the
    encoder needs (``age_out`` [B, M], and for agz17 ``boards_out`` [B, 8, M]).  ``move_cap`` < 0: no cap.

    Returns the first leaf with its tree, depth or a move out of range (or a move on a stone), else -1.
    """
    m = rs.shape[2]
    nrows = rs.shape[1]
    nscal = rg.shape[1]
    want_agz = code == _features._AGZ
    ring = np.empty((8, m), np.int8)
    bloom = np.empty(_BLOOM_WORDS, np.uint64)
    bad = -1
    for b in range(lo, hi):
        t = tree_of[b]
        d = depths[b]
        if t < 0 or t >= rs.shape[0] or d < 0 or d > paths.shape[1]:
            bad = b
        else:
            for i in range(d):
                p = paths[b, i]
                if p < 0 or p > m:
                    bad = b
        if bad >= 0:
            break
        s = s_out[b]
        g = g_out[b]
        hist = hist_out[b]
        for r in range(nrows):
            for p in range(m):
                s[r, p] = rs[t, r, p]
        for j in range(nscal):
            g[j] = rg[t, j]
        for i in range(rg[t, NUM_HIST]):
            hist[0, i] = rhist[t, 0, i]
            hist[1, i] = rhist[t, 1, i]
        for i in range(d):
            p = paths[b, i]
            if p < m and s[COLOR, p] != EMPTY:
                bad = b
                break
            if want_agz:
                r = i % 8
                for q in range(m):
                    ring[r, q] = s[COLOR, q]
            _core.play(s, g, hist, nbr, num_nbr, zob, p, g[TO_MOVE])
        if bad >= 0:
            break
        c = g[TO_MOVE]
        to_move[b] = c
        ko[b] = g[KO]
        if want_leaves:
            _sensible_row(s, g, hist, nbr, num_nbr, diag, num_diag, zob, c, rko[t], rsuicide[t], legal[b], bloom)
            terminal[b] = g[PASSES] >= 2 or (move_cap >= 0 and g[MOVES] >= move_cap)
            score[b] = _core.area_score(s) - rkomi[t]
            komi[b] = rkomi[t]
            l1 = rlast[t]
            l2 = rlast2[t]
            if d >= 1:
                l2 = l1
                l1 = paths[b, d - 1]
                if d >= 2:
                    l2 = paths[b, d - 2]
                if l2 == m:
                    l2 = -1
                if l1 == m:
                    l1 = -1
            last[b] = l1
            last2[b] = l2
        if code >= 0:
            if want_agz:
                boards = boards_out[b]
                known = d if d < 7 else 7
                for q in range(m):
                    boards[0, q] = s[COLOR, q]
                for j in range(1, 8):
                    if j <= known:
                        r = (d - j) % 8
                        for q in range(m):
                            boards[j, q] = ring[r, q]
                    else:
                        for q in range(m):
                            boards[j, q] = rboards[t, j - d, q]
            else:
                age = age_out[b]
                for p in range(m):
                    if s[COLOR, p] == EMPTY:
                        age[p] = 0
                    else:
                        a = rage[t, p] + d
                        age[p] = a if a < _OLD else _OLD
                for i in range(d):
                    p = paths[b, i]
                    if p < m and s[COLOR, p] != EMPTY:
                        age[p] = d - i
    return bad


@njit(cache=True, nogil=True)
def _advance_kernel(s, g, hist, trace, ko_rule, allow_suicide, last, last2, age, boards, moves, nbr, num_nbr, zob):
    """``Roots.advance``: check every move first (returns the first root whose move is illegal, having
    changed nothing), then play them all, keeping the last moves and the encoders' history."""
    m = s.shape[2]
    for t in range(s.shape[0]):
        p = moves[t]
        if p == -1:
            continue
        if p < -1 or p > m or not _core.is_legal(s[t], g[t], hist[t], nbr, num_nbr, zob, p, g[t, TO_MOVE],
                                                 ko_rule[t], allow_suicide[t]):
            return t
    for t in range(s.shape[0]):
        p = moves[t]
        if p == -1:
            continue
        _core.record_move(s[t], g[t], trace[t], p)
        _core.play(s[t], g[t], hist[t], nbr, num_nbr, zob, p, g[t, TO_MOVE])
        last2[t] = last[t]
        last[t] = p if p < m else -1
        _features._trace_ages_and_boards(s[t], trace[t], g[t, MOVES], age[t], boards[t])
    return -1


@njit(cache=True, nogil=True)
def _uniform_kernel(s, g, komi, seed, lo, hi, max_moves, nbr, num_nbr, diag, num_diag, zob, scores, want_owner, owner):
    """One uniformly random playout (``_core.playout``) from each of leaves lo..hi-1 (copies);
    leaf b seeds its generator with ``seed + b``."""
    nrows, m = s.shape[1], s.shape[2]
    ss = np.empty((nrows, m), np.int32)
    gg = np.empty(g.shape[1], np.int64)
    for b in range(lo, hi):
        for r in range(nrows):
            for p in range(m):
                ss[r, p] = s[b, r, p]
        for j in range(g.shape[1]):
            gg[j] = g[b, j]
        rng = _core.seed_rng(seed + b)
        sc, mv = _core.playout(ss, gg, nbr, num_nbr, diag, num_diag, zob, rng, max_moves)
        scores[b] = sc - komi[b]
        if want_owner:
            own = _core.area_owner(ss)
            for p in range(m):
                owner[b, p] = own[p]


# ---- Python API --------------------------------------------------------------------------


def _num_chunks(n: int, min_chunk: int, num_threads: int | None) -> int:
    return max(1, min(int(num_threads or numba.get_num_threads()), n // min_chunk))


def _check_batch(roots: Roots, tree_of, paths, depths):
    tree_of = np.ascontiguousarray(tree_of, np.int64)
    paths = np.ascontiguousarray(paths, np.int32)
    depths = np.ascontiguousarray(depths, np.int32)
    if tree_of.ndim != 1 or depths.shape != tree_of.shape or paths.ndim != 2 or paths.shape[0] != tree_of.shape[0]:
        raise ValueError(f"tree_of [B], paths [B, D] and depths [B] do not fit: got {tree_of.shape}, {paths.shape}, "
                         f"{depths.shape}")
    return tree_of, paths, depths


def _bad_leaf(roots: Roots, tree_of, paths, depths, i: int) -> ValueError:
    """The error for leaf i, which the kernel found out of range."""
    if not 0 <= tree_of[i] < len(roots):
        return ValueError(f"leaf {i}: tree_of must be in 0..{len(roots) - 1}, got {int(tree_of[i])}")
    if not 0 <= depths[i] <= paths.shape[1]:
        return ValueError(f"leaf {i}: depths must be in 0..{paths.shape[1]} (the width of paths), "
                          f"got {int(depths[i])}")
    m = roots.num_points
    return ValueError(f"leaf {i}: a move of paths[{i}, :{int(depths[i])}] is outside 0..{m} (pass = {m}) "
                      f"or on an occupied point")


def _geo_args(size: int):
    geo = _core.geometry(size)
    return geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob


def _play(roots: Roots, tree_of, paths, depths, encoder: str | None, out, want_leaves: bool, num_threads):
    tree_of, paths, depths = _check_batch(roots, tree_of, paths, depths)
    nb = tree_of.shape[0]
    m = roots.num_points
    n = roots.size
    hcap = roots.hist.shape[2] + paths.shape[1] + 1
    leaves = Leaves(np.empty((nb, _core.NUM_ROWS, m), np.int32), np.empty((nb, _core.NUM_SCALARS), np.int64),
                    np.empty((nb, 2, hcap), np.int64), np.empty((nb, m + 1 if want_leaves else 0), np.bool_),
                    np.empty(nb, np.bool_), np.empty(nb, np.float64), np.empty(nb, np.int64), np.empty(nb, np.int64),
                    np.empty(nb, np.int64), np.empty(nb, np.float64))
    ko = np.empty(nb, np.int64)
    code = _NO_ENCODE
    planes = None
    if encoder is not None:
        num = _features.num_planes(encoder)
        planes = _features._check_out(out, (nb, num, n, n))
        code = _features._CODES[encoder]
    agz = code == _features._AGZ
    age = np.empty((nb if code >= 0 and not agz else 0, m), np.int32)
    boards = np.empty((nb if agz else 0, 8, m), np.int8)
    head = (roots.s, roots.g, roots.hist, roots.komi, roots.ko_rule, roots.allow_suicide, roots.last, roots.last2,
            roots.age, roots.boards, _NO_CAP if roots.move_cap is None else roots.move_cap, tree_of, paths, depths)
    nbr, num_nbr, diag, num_diag, zob = _geo_args(n)
    outs = (*leaves[:7], ko, leaves.last, leaves.last2, leaves.komi, code, age, boards)

    def job(lo, hi):
        bad = _play_kernel(*head, lo, hi, nbr, num_nbr, diag, num_diag, zob, want_leaves, *outs)
        if bad < 0 and code >= 0:
            nobody = np.empty((hi - lo, 0, m), np.int8)
            _features._encode_states(leaves.s[lo:hi], ko[lo:hi], leaves.to_move[lo:hi],
                                     age[lo:hi] if not agz else np.empty((hi - lo, m), np.int32),
                                     boards[lo:hi] if agz else nobody, code, _features.symmetry_table(n)[0], nbr,
                                     num_nbr, diag, num_diag, planes[lo:hi].reshape(hi - lo, planes.shape[1], m))
        return bad

    results = run_slices(job, nb, _num_chunks(nb, _MIN_CHUNK, num_threads))
    bad = [r for r in results if r >= 0]
    if bad:
        raise _bad_leaf(roots, tree_of, paths, depths, min(bad))
    return (leaves if want_leaves else None), planes


def play_paths(roots: Roots, tree_of, paths, depths, *, num_threads: int | None = None) -> Leaves:
    """Leaf b = root ``tree_of[b]`` (int64 [B]) with ``paths[b, :depths[b]]`` (int32 [B, D],
    int32 [B]) played.  Every move must be legal: only moves out of range or on a stone are caught
    (ValueError naming the leaf); other illegal moves give undefined leaves."""
    leaves, _ = _play(roots, tree_of, paths, depths, None, None, True, num_threads)
    return leaves


def encode_leaves(roots: Roots, tree_of, paths, depths, encoder: str, out=None, *,
                  num_threads: int | None = None) -> np.ndarray:
    """uint8 [B, P, N, N]: ``features.encode_position(leaf, encoder)`` for each leaf of ``play_paths``."""
    _, planes = _play(roots, tree_of, paths, depths, encoder, out, False, num_threads)
    return planes


def play_and_encode(roots: Roots, tree_of, paths, depths, encoder: str, out=None, *,
                    num_threads: int | None = None) -> tuple[Leaves, np.ndarray]:
    """``play_paths`` and ``encode_leaves`` in one pass over the leaves."""
    return _play(roots, tree_of, paths, depths, encoder, out, True, num_threads)


def _leaf_seed(seed: int, b: int) -> int:
    return (int(seed) * 1000003 + b) % (1 << 63)


def _run_rollouts(policy, leaves: Leaves, seed: int, max_moves, want_owner: bool, num_threads):
    nb, _, m = leaves.s.shape
    size = int(round(m ** 0.5))
    cap = 3 * m if max_moves is None else int(max_moves)
    if cap < 0:
        raise ValueError(f"max_moves must be >= 0, got {max_moves!r}")
    scores = np.empty(nb, np.float64)
    owner = np.empty((nb if want_owner else 0, m), np.int8)
    nbr, num_nbr, diag, num_diag, zob = _geo_args(size)
    if policy is None:
        seed0 = _leaf_seed(seed, 0)

        def job(lo, hi):
            _uniform_kernel(leaves.s, leaves.g, leaves.komi, seed0, lo, hi, cap, nbr, num_nbr, diag, num_diag, zob,
                            scores, want_owner, owner)
    else:
        # the weights do not depend on the board size: a policy made for another size works here
        nb8, dia, ring3, canon, perm12, inv12 = policy._tab if policy.size == size else _rollout._tables(size)
        w, ew = policy.weights, policy.exp_weights
        none = np.empty(0, np.int32)
        last = leaves.last.tolist()
        last2 = leaves.last2.tolist()
        komi = leaves.komi.tolist()

        def job(lo, hi):
            # one call per leaf of the GIL-free compiled playout, the entry ``rollout_playouts`` uses (a
            # playout costs far more than the call; no second copy of the large sampler is compiled)
            for b in range(lo, hi):
                s = leaves.s[b].copy()
                sc, _, _ = _rollout._playout(s, leaves.g[b].copy(), nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12,
                                             canon, w, ew, last[b], last2[b], _core.seed_rng(_leaf_seed(seed, b)),
                                             cap, False, none, 0)
                scores[b] = sc - komi[b]
                if want_owner:
                    owner[b] = _core.area_owner(s)

    run_slices(job, nb, _num_chunks(nb, _MIN_ROLLOUT_CHUNK, num_threads))
    return scores, owner


def rollout_leaves(policy, leaves: Leaves, seed: int, max_moves: int | None = None, *,
                   num_threads: int | None = None) -> np.ndarray:
    """float64 [B]: one playout per leaf (``policy`` a ``RolloutPolicy`` of any board size, or None for
    uniformly random legal moves that do not fill the mover's own eye), black-minus-white area minus komi.

    Playouts use simple ko and no suicide; ``max_moves`` (moves of the playout itself, not of the game)
    defaults to 3 * N * N.  Leaf b seeds its generator from (seed, b): the result does not depend on
    ``num_threads``.
    """
    scores, _ = _run_rollouts(policy, leaves, seed, max_moves, False, num_threads)
    return scores


def owner_leaves(policy, leaves: Leaves, seed: int, max_moves: int | None = None, *,
                 num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``rollout_leaves`` (same playouts for the same seed) and the final Tromp-Taylor owner of each
    point of each playout: (scores float64 [B], owner int8 [B, M] with EMPTY/BLACK/WHITE)."""
    return _run_rollouts(policy, leaves, seed, max_moves, True, num_threads)
