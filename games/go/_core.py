"""Compiled Go core: numba kernels over flat struct-of-arrays boards.

A board of size N has M = N*N points, flat index ``p = row * N + col``, and
``PASS = M``.  Its state is three arrays (see ``new_state``):

``s``    int32 [NUM_ROWS, M]: per-point rows (``COLOR``, ``HEAD``, ``NEXT``,
         the empty-point list) and per-chain rows indexed by the chain's head
         stone (``SIZE`` and the pseudo-liberty statistics).
``g``    int64 [NUM_SCALARS]: side to move, ko point, passes, captures,
         number of empty points, Zobrist hash, history length.
``hist`` int64 [2, capacity]: the Zobrist hash of every position of the game
         so far (row 0) and the side to move in it (row 1), for superko.

The feature encoders' history of a line of play (turns since each stone was
played, AlphaGo Zero's past boards) is one more array, kept by ``record_move``
(``try_play_recorded``) so that a position never needs its parents:

``trace`` int8 [TRACE_ROWS, M] (``new_trace``): rows 0-7 are a ring of boards,
         ``trace[mc % 8]`` the board just before move mc (passes are moves),
         so the boards before the last 8 moves are known; row ``AGE`` is the
         number of moves since the stone on each point was played (1 for the
         last move), saturating at ``AGE_OLD`` (8), which setup stones get
         too; only stones are read.

Chains are circular linked lists (``NEXT``) with a head (``HEAD``).  Liberties
are tracked incrementally as *pseudo-liberties*: their count, sum and sum of
squares.  A chain has no liberty when the count is 0, and is in atari (exactly
one distinct liberty) when sum**2 == count * sum_of_squares.

The static geometry (neighbour and diagonal tables, Zobrist keys) is built
once per board size by ``geometry``.  Everything here is free of Python
objects so that it runs inside ``@njit(cache=True)`` code.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba import njit, prange

# ---- colours and sentinels -------------------------------------------------
EMPTY = 0
BLACK = 1
WHITE = 2
NO_POINT = -1  # "no ko point", padding in neighbour tables

# ---- ko rules ----------------------------------------------------------------
KO_SIMPLE = 0
KO_POSITIONAL = 1
KO_SITUATIONAL = 2

# ---- rows of ``s`` -------------------------------------------------------------
COLOR = 0  # EMPTY / BLACK / WHITE per point
HEAD = 1  # head stone of the point's chain
NEXT = 2  # next stone in the chain's ring
EMPTY_LIST = 3  # the first g[NUM_EMPTY] entries are the empty points
EMPTY_POS = 4  # index of an empty point in EMPTY_LIST
SIZE = 5  # stones in the chain (at the head)
LIB_COUNT = 6  # pseudo-liberty count (at the head)
LIB_SUM = 7  # sum of pseudo-liberty points (at the head)
LIB_SUMSQ = 8  # sum of squares of pseudo-liberty points (at the head)
NUM_ROWS = 9

# ---- entries of ``g`` ------------------------------------------------------------
TO_MOVE = 0
KO = 1  # point that may not be played because of simple ko, or NO_POINT
PASSES = 2  # consecutive passes
CAPS_BLACK = 3  # stones captured by black
CAPS_WHITE = 4  # stones captured by white
NUM_EMPTY = 5
HASH = 6
NUM_HIST = 7
MOVES = 8  # moves played (passes included), setup excluded
NUM_SCALARS = 9

# ---- rows of ``trace`` ---------------------------------------------------------------
AGE = 8  # rows 0-7: the ring of boards before the last 8 moves
TRACE_ROWS = 9
AGE_OLD = 8  # the age of setup stones and of stones 8 or more moves old

SIDE_KEY_ROW = 0  # zob[0, 0] is xor-ed in for "white to move" (situational superko)


class Geometry(NamedTuple):
    size: int
    nbr: np.ndarray  # [M, 4] int32, NO_POINT padded
    num_nbr: np.ndarray  # [M] int32
    diag: np.ndarray  # [M, 4] int32, NO_POINT padded
    num_diag: np.ndarray  # [M] int32
    zob: np.ndarray  # [3, M] int64: zob[BLACK], zob[WHITE]; zob[0, 0] side key


@lru_cache(maxsize=None)
def geometry(size: int) -> Geometry:
    m = size * size
    nbr = np.full((m, 4), NO_POINT, np.int32)
    diag = np.full((m, 4), NO_POINT, np.int32)
    num_nbr = np.zeros(m, np.int32)
    num_diag = np.zeros(m, np.int32)
    for p in range(m):
        r, c = divmod(p, size)
        for dr, dc in ((-1, 0), (0, -1), (0, 1), (1, 0)):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                nbr[p, num_nbr[p]] = (r + dr) * size + c + dc
                num_nbr[p] += 1
        for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                diag[p, num_diag[p]] = (r + dr) * size + c + dc
                num_diag[p] += 1
    rng = np.random.default_rng(0x60_0000 + size)
    zob = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=(3, m), dtype=np.int64)
    for arr in (nbr, diag, num_nbr, num_diag, zob):
        arr.setflags(write=False)
    return Geometry(size, nbr, num_nbr, diag, num_diag, zob)


def new_state(size: int, history_capacity: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An empty board, black to move, its own position recorded in history."""
    m = size * size
    s = np.zeros((NUM_ROWS, m), np.int32)
    s[EMPTY_LIST] = np.arange(m, dtype=np.int32)
    s[EMPTY_POS] = np.arange(m, dtype=np.int32)
    g = np.zeros(NUM_SCALARS, np.int64)
    g[TO_MOVE] = BLACK
    g[KO] = NO_POINT
    g[NUM_EMPTY] = m
    hist = np.zeros((2, max(history_capacity, 2 * m + 16)), np.int64)
    hist[1, 0] = BLACK
    g[NUM_HIST] = 1
    return s, g, hist


def new_trace(size: int) -> np.ndarray:
    """The encoders' history of a game without moves (see the module docstring)."""
    m = size * size
    trace = np.zeros((TRACE_ROWS, m), np.int8)
    trace[AGE] = AGE_OLD
    return trace


# ---- random numbers: xorshift64*, explicit state, thread-safe --------------------


@njit(cache=True)
def seed_rng(seed):
    """A one-element uint64 state from any integer seed (splitmix64)."""
    x = np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    if x == np.uint64(0):
        x = np.uint64(1)
    rng = np.empty(1, np.uint64)
    rng[0] = x
    return rng


@njit(cache=True, inline="always")
def rand_below(rng, n):
    """Uniform integer in [0, n)."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    r = (x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(32)
    return np.int64((r * np.uint64(n)) >> np.uint64(32))


# ---- small helpers -----------------------------------------------------------------


@njit(cache=True, inline="always")
def _lib_add(s, h, q):
    s[LIB_COUNT, h] += 1
    s[LIB_SUM, h] += q
    s[LIB_SUMSQ, h] += q * q


@njit(cache=True, inline="always")
def _lib_remove(s, h, q):
    s[LIB_COUNT, h] -= 1
    s[LIB_SUM, h] -= q
    s[LIB_SUMSQ, h] -= q * q


@njit(cache=True, inline="always")
def in_atari(s, h):
    """Chain with head h has exactly one (distinct) liberty."""
    n = np.int64(s[LIB_COUNT, h])
    if n == 0:
        return False
    total = np.int64(s[LIB_SUM, h])
    return total * total == n * np.int64(s[LIB_SUMSQ, h])


@njit(cache=True, inline="always")
def _empties_remove(s, g, p):
    i = s[EMPTY_POS, p]
    n = g[NUM_EMPTY] - 1
    last = s[EMPTY_LIST, n]
    s[EMPTY_LIST, i] = last
    s[EMPTY_POS, last] = i
    s[EMPTY_LIST, n] = p
    s[EMPTY_POS, p] = n
    g[NUM_EMPTY] = n


@njit(cache=True, inline="always")
def _empties_add(s, g, p):
    n = g[NUM_EMPTY]
    # p currently sits somewhere at or after n (outside the live prefix): swap it to n
    i = s[EMPTY_POS, p]
    other = s[EMPTY_LIST, n]
    s[EMPTY_LIST, i] = other
    s[EMPTY_POS, other] = i
    s[EMPTY_LIST, n] = p
    s[EMPTY_POS, p] = n
    g[NUM_EMPTY] = n + 1


@njit(cache=True)
def _merge(s, a, b):
    """Merge chains with heads a != b; returns the surviving head."""
    if s[SIZE, a] < s[SIZE, b]:
        a, b = b, a
    r = b
    while True:
        s[HEAD, r] = a
        r = s[NEXT, r]
        if r == b:
            break
    na = s[NEXT, a]
    s[NEXT, a] = s[NEXT, b]
    s[NEXT, b] = na
    s[SIZE, a] += s[SIZE, b]
    s[LIB_COUNT, a] += s[LIB_COUNT, b]
    s[LIB_SUM, a] += s[LIB_SUM, b]
    s[LIB_SUMSQ, a] += s[LIB_SUMSQ, b]
    return a


@njit(cache=True)
def _put(s, g, nbr, num_nbr, zob, p, c):
    """Put a stone of colour c on empty p: liberties and merges, no captures."""
    _empties_remove(s, g, p)
    s[COLOR, p] = c
    s[HEAD, p] = p
    s[NEXT, p] = p
    s[SIZE, p] = 1
    s[LIB_COUNT, p] = 0
    s[LIB_SUM, p] = 0
    s[LIB_SUMSQ, p] = 0
    g[HASH] ^= zob[c, p]
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] == EMPTY:
            _lib_add(s, s[HEAD, p], q)
        else:
            _lib_remove(s, s[HEAD, q], p)
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] == c:
            hq = s[HEAD, q]
            hp = s[HEAD, p]
            if hq != hp:
                _merge(s, hp, hq)


@njit(cache=True)
def _remove_chain(s, g, nbr, num_nbr, zob, h):
    """Take the chain with head h off the board; returns the number of stones."""
    col = s[COLOR, h]
    other = 3 - col
    r = h
    n = 0
    while True:
        nxt = s[NEXT, r]
        s[COLOR, r] = EMPTY
        g[HASH] ^= zob[col, r]
        _empties_add(s, g, r)
        n += 1
        for k in range(num_nbr[r]):
            t = nbr[r, k]
            if s[COLOR, t] == other:
                _lib_add(s, s[HEAD, t], r)
        r = nxt
        if r == h:
            break
    return n


@njit(cache=True)
def place(s, g, nbr, num_nbr, zob, p, c):
    """Play a legal stone move: captures, suicide (if it happens), ko point, side to move.

    Does not record history (see ``play``).  Returns the number of stones captured.
    """
    _put(s, g, nbr, num_nbr, zob, p, c)
    opp = 3 - c
    captured = 0
    last_captured = NO_POINT
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] == opp and s[LIB_COUNT, s[HEAD, q]] == 0:
            captured += _remove_chain(s, g, nbr, num_nbr, zob, s[HEAD, q])
            last_captured = q
    hp = s[HEAD, p]
    g[KO] = NO_POINT
    if captured > 0:
        g[CAPS_BLACK + c - 1] += captured
        if captured == 1 and s[SIZE, hp] == 1 and in_atari(s, hp):
            g[KO] = last_captured
    elif s[LIB_COUNT, hp] == 0:  # suicide (only reached when allowed)
        g[CAPS_BLACK + opp - 1] += _remove_chain(s, g, nbr, num_nbr, zob, hp)
    g[PASSES] = 0
    g[TO_MOVE] = opp
    return captured


@njit(cache=True)
def _xor_chain(s, zob, h):
    col = s[COLOR, h]
    x = np.int64(0)
    r = h
    while True:
        x ^= zob[col, r]
        r = s[NEXT, r]
        if r == h:
            break
    return x


@njit(cache=True)
def _seen_head(s, nbr, p, k, h):
    """Whether a neighbour of p before index k belongs to the chain with head h."""
    for j in range(k):
        q = nbr[p, j]
        if s[COLOR, q] != EMPTY and s[HEAD, q] == h:
            return True
    return False


@njit(cache=True, inline="always")
def stone_move(s, nbr, num_nbr, p, c, allow_suicide):
    """For colour c at the empty point p, ko aside: (allowed, suicide)."""
    has_lib = False
    captures = False
    own_neighbour = False
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        cq = s[COLOR, q]
        if cq == EMPTY:
            has_lib = True
        elif cq == c:
            own_neighbour = True
            if not in_atari(s, s[HEAD, q]):
                has_lib = True
        elif in_atari(s, s[HEAD, q]):
            captures = True
    suicide = not has_lib and not captures
    # a lone stone's suicide changes nothing and is never allowed
    return not (suicide and (not allow_suicide or not own_neighbour)), suicide


@njit(cache=True, inline="always")
def hash_after(s, g, nbr, num_nbr, zob, p, c, suicide):
    """The Zobrist hash of the position after colour c plays the empty point p (captures, or the
    suicide of its own chain, included)."""
    opp = 3 - c
    h = g[HASH] ^ zob[c, p]
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        cq = s[COLOR, q]
        if cq == EMPTY:
            continue
        hq = s[HEAD, q]
        if _seen_head(s, nbr, p, k, hq):
            continue
        if cq == opp and in_atari(s, hq):
            h ^= _xor_chain(s, zob, hq)
        elif cq == c and suicide:
            h ^= _xor_chain(s, zob, hq)
    if suicide:
        h ^= zob[c, p]
    return h


@njit(cache=True, inline="always")
def repeats(hist, num_hist, h, opp, ko_rule):
    """Whether hash h is in the first ``num_hist`` history entries: any of them (positional superko),
    or one with ``opp`` to move (situational)."""
    if ko_rule == KO_POSITIONAL:
        for i in range(num_hist):
            if hist[0, i] == h:
                return True
    else:
        for i in range(num_hist):
            if hist[0, i] == h and hist[1, i] == opp:
                return True
    return False


@njit(cache=True)
def is_legal(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide):
    """Whether colour c may play p (PASS is always legal)."""
    m = s.shape[1]
    if p == m:
        return True
    if p < 0 or p > m or s[COLOR, p] != EMPTY:
        return False
    allowed, suicide = stone_move(s, nbr, num_nbr, p, c, allow_suicide)
    if not allowed:
        return False
    if ko_rule == KO_SIMPLE:
        return p != g[KO]
    h = hash_after(s, g, nbr, num_nbr, zob, p, c, suicide)  # superko: the resulting position
    return not repeats(hist, g[NUM_HIST], h, 3 - c, ko_rule)


@njit(cache=True, inline="always")
def _move(s, g, nbr, num_nbr, zob, p, c):
    """A legal stone move or PASS for colour c, without history."""
    if p == s.shape[1]:
        g[PASSES] += 1
        g[KO] = NO_POINT
        g[TO_MOVE] = 3 - c
    else:
        place(s, g, nbr, num_nbr, zob, p, c)


@njit(cache=True)
def play(s, g, hist, nbr, num_nbr, zob, p, c):
    """Play p (or PASS) for colour c, already known legal, and record history.

    The caller makes sure ``hist`` has room for one more entry.
    """
    _move(s, g, nbr, num_nbr, zob, p, c)
    g[MOVES] += 1
    n = g[NUM_HIST]
    hist[0, n] = g[HASH]
    hist[1, n] = g[TO_MOVE]
    g[NUM_HIST] = n + 1


@njit(cache=True, inline="always")
def record_move(s, g, trace, p):
    """Keep the encoders' history of the move about to be played at p (PASS included): the board
    now goes to ``trace[g[MOVES] % 8]``, every age grows by one (up to ``AGE_OLD``) and the stone
    played at p gets age 1.  Call it just before ``play``/``_move`` (which count the move)."""
    m = s.shape[1]
    r = g[MOVES] % 8
    for t in range(m):
        trace[r, t] = s[COLOR, t]
        a = trace[AGE, t]
        if a < AGE_OLD:
            trace[AGE, t] = a + 1
    if p < m:
        trace[AGE, p] = 1


@njit(cache=True)
def try_play_recorded(s, g, hist, trace, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide):
    """``try_play`` that also keeps the encoders' history (``record_move``)."""
    if not is_legal(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide):
        return False
    record_move(s, g, trace, p)
    play(s, g, hist, nbr, num_nbr, zob, p, c)
    return True


@njit(cache=True)
def try_play(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide):
    """``play`` when the move is legal (returns True); changes nothing otherwise."""
    if not is_legal(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide):
        return False
    play(s, g, hist, nbr, num_nbr, zob, p, c)
    return True


@njit(cache=True)
def legal_mask(s, g, hist, nbr, num_nbr, zob, c, ko_rule, allow_suicide):
    """bool [M + 1]: the legal moves of colour c, pass included."""
    m = s.shape[1]
    out = np.zeros(m + 1, np.bool_)
    for i in range(g[NUM_EMPTY]):
        p = s[EMPTY_LIST, i]
        out[p] = is_legal(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide)
    out[m] = True
    return out


@njit(cache=True)
def rebuild(s, g, nbr, num_nbr, zob, colors):
    """Set the board to ``colors`` (int8 [M]) and rebuild chains, liberties, hash.

    Side to move, passes, captures and history are left to the caller; the ko
    point is cleared.  No captures are made, as for SGF setup stones.
    """
    m = s.shape[1]
    for p in range(m):
        s[COLOR, p] = EMPTY
        s[EMPTY_LIST, p] = p
        s[EMPTY_POS, p] = p
    g[NUM_EMPTY] = m
    g[HASH] = 0
    g[KO] = NO_POINT
    for p in range(m):
        if colors[p] != EMPTY:
            _put(s, g, nbr, num_nbr, zob, p, colors[p])


@njit(cache=True)
def eye_rule(all_own, num_diag, num_opp_diag):
    """The own-eye rule from counts (see ``is_eye``): every on-board orthogonal neighbour is the
    mover's (``all_own``), and of the ``num_diag`` on-board diagonal points at most one (in the
    centre, ``num_diag`` 4) or none (on the edge or in a corner) is the opponent's.

    ``is_eye`` reads the counts off the board; the rollout policy's 3x3 pattern code, which has them
    at hand for both colours in one read (``games.go.rollout``), calls this rule directly.
    """
    if not all_own:
        return False
    if num_diag < 4:
        return num_opp_diag == 0
    return num_opp_diag < 2


@njit(cache=True, inline="always")
def is_eye(s, nbr, num_nbr, diag, num_diag, p, c):
    """p is a single-point eye of colour c: every neighbour is c, and at most one diagonal point (none
    on the edge or in a corner) is the opponent's (``eye_rule``).

    The one own-eye test of the engine: the uniform random playouts (``_pick_random``), the rollout
    policy's candidates, the sensibleness feature plane, the moves the tree may try (``batch``'s legal
    rows) and the ``policy:`` player (``batch.sensible_mask``) never fill such a point.  It is a rule
    of thumb, and it leaves these out although they can be right:

    - connecting through the eye to save an own chain in atari whose only liberty is the eye (the
      opponent could capture by playing there): the rule still calls it an eye, so no player of ours
      considers the move, and the tree can never play it today;
    - any other move into such a point that a strong player would choose (rare: under area scoring,
      filling one's own eye never gains a point by itself).

    An opponent diagonal stone counts whether or not it can be captured, and two- or more-point eyes are
    not eyes here.  With only eye points (and illegal moves) left, our players pass.
    """
    for k in range(num_nbr[p]):
        if s[COLOR, nbr[p, k]] != c:
            return False
    bad = 0
    opp = 3 - c
    for k in range(num_diag[p]):
        if s[COLOR, diag[p, k]] == opp:
            bad += 1
    return eye_rule(True, num_diag[p], bad)


@njit(cache=True)
def _pick_random(s, g, hist, nbr, num_nbr, diag, num_diag, zob, rng, c, ko_rule, allow_suicide, use_history):
    """A uniformly random legal move of c that does not fill c's own eye, else PASS.

    Samples the empty list without replacement by swapping rejected points to
    the end of the live prefix (the list is a set, so its order is free).
    """
    m = s.shape[1]
    n = g[NUM_EMPTY]
    while n > 0:
        i = rand_below(rng, n)
        p = s[EMPTY_LIST, i]
        if not is_eye(s, nbr, num_nbr, diag, num_diag, p, c):
            if use_history:
                ok = is_legal(s, g, hist, nbr, num_nbr, zob, p, c, ko_rule, allow_suicide)
            else:
                ok = _legal_simple(s, g, nbr, num_nbr, p, c)
            if ok:
                return p
        n -= 1
        last = s[EMPTY_LIST, n]
        s[EMPTY_LIST, i] = last
        s[EMPTY_POS, last] = i
        s[EMPTY_LIST, n] = p
        s[EMPTY_POS, p] = n
    return m


@njit(cache=True, inline="always")
def _legal_simple(s, g, nbr, num_nbr, p, c):
    """Legality for playouts: simple ko, no suicide (p known empty)."""
    if p == g[KO]:
        return False
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        cq = s[COLOR, q]
        if cq == EMPTY:
            return True
        if cq == c:
            if not in_atari(s, s[HEAD, q]):
                return True
        elif in_atari(s, s[HEAD, q]):
            return True
    return False


@njit(cache=True)
def random_move(s, g, hist, nbr, num_nbr, diag, num_diag, zob, rng, c, ko_rule, allow_suicide):
    """A random legal non-eye-filling move of c under the game's full rules, or PASS."""
    return _pick_random(s, g, hist, nbr, num_nbr, diag, num_diag, zob, rng, c, ko_rule, allow_suicide, True)


@njit(cache=True)
def area_owner(s):
    """int8 [M]: Tromp-Taylor owner of each point (stone colour, or the only colour an
    empty region reaches, else EMPTY)."""
    m = s.shape[1]
    size = np.int64(np.sqrt(m) + 0.5)
    owner = np.zeros(m, np.int8)
    seen = np.zeros(m, np.bool_)
    stack = np.empty(m, np.int32)
    region = np.empty(m, np.int32)
    for p in range(m):
        col = s[COLOR, p]
        if col != EMPTY:
            owner[p] = col
            continue
        if seen[p]:
            continue
        top = 0
        nreg = 0
        stack[top] = p
        top += 1
        seen[p] = True
        reach = 0  # bit 1: black, bit 2: white
        while top > 0:
            top -= 1
            q = stack[top]
            region[nreg] = q
            nreg += 1
            r = q // size
            cc = q - r * size
            for d in range(4):
                if d == 0:
                    if r == 0:
                        continue
                    t = q - size
                elif d == 1:
                    if r == size - 1:
                        continue
                    t = q + size
                elif d == 2:
                    if cc == 0:
                        continue
                    t = q - 1
                else:
                    if cc == size - 1:
                        continue
                    t = q + 1
                ct = s[COLOR, t]
                if ct == EMPTY:
                    if not seen[t]:
                        seen[t] = True
                        stack[top] = t
                        top += 1
                else:
                    reach |= ct
        if reach == BLACK or reach == WHITE:
            for i in range(nreg):
                owner[region[i]] = reach
    return owner


@njit(cache=True)
def area_score(s):
    """Tromp-Taylor area difference, black minus white (no komi)."""
    owner = area_owner(s)
    diff = 0
    for p in range(owner.shape[0]):
        if owner[p] == BLACK:
            diff += 1
        elif owner[p] == WHITE:
            diff -= 1
    return diff


@njit(cache=True)
def playout(s, g, nbr, num_nbr, diag, num_diag, zob, rng, max_moves):
    """Random playout in place from the current position to two passes or max_moves.

    Moves are uniformly random among legal moves that do not fill the mover's
    own single-point eye (simple ko, no suicide).  The playout counts its own
    passes: ``g[PASSES]`` restarts at 0, so a playout from a finished game (two
    passes) plays on and captures the dead stones.  Returns (black-minus-white
    Tromp-Taylor area, moves played).
    """
    hist = np.empty((2, 1), np.int64)  # unused: playouts check simple ko only
    g[PASSES] = 0  # the playout's own passes end it, not the game's
    moves = 0
    while moves < max_moves and g[PASSES] < 2:
        c = g[TO_MOVE]
        p = _pick_random(s, g, hist, nbr, num_nbr, diag, num_diag, zob, rng, c, KO_SIMPLE, False, False)
        _move(s, g, nbr, num_nbr, zob, p, c)
        moves += 1
    return area_score(s), moves


@njit(cache=True, parallel=True)
def playouts(s, g, nbr, num_nbr, diag, num_diag, zob, seed, num_playouts, max_moves):
    """``num_playouts`` independent playouts from one position, in parallel threads.

    Playout i uses its own generator seeded from (seed, i), so results do not
    depend on the thread count.  Returns (scores int32 [n], total moves).
    """
    scores = np.empty(num_playouts, np.int32)
    moves = np.empty(num_playouts, np.int64)
    for i in prange(num_playouts):
        ss = s.copy()
        gg = g.copy()
        rng = seed_rng(seed * 1000003 + i)
        sc, mv = playout(ss, gg, nbr, num_nbr, diag, num_diag, zob, rng, max_moves)
        scores[i] = sc
        moves[i] = mv
    return scores, moves.sum()


@njit(cache=True)
def liberties(s, num_nbr, nbr, h):
    """Distinct liberty count of the chain with head h (a walk over its stones)."""
    m = s.shape[1]
    mark = np.zeros(m, np.bool_)
    n = 0
    r = h
    while True:
        for k in range(num_nbr[r]):
            q = nbr[r, k]
            if s[COLOR, q] == EMPTY and not mark[q]:
                mark[q] = True
                n += 1
        r = s[NEXT, r]
        if r == h:
            break
    return n
