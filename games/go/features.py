"""Compiled Go feature planes: AlphaGo's 48/49 planes and AlphaGo Zero's 17 planes.

Two entry points share one compiled encoder (``_encode_state``):

``encode_position(position, encoder)``
    one ``games.go.board.Position``; the history (turns since, AlphaGo Zero's
    past boards) comes from the history the position carries (``_core``'s
    ``trace``, kept by every move whether played in place or not),
    through the same ``_ages_and_boards`` as the game-stream replay; no parent
    chain is read.
``encode_games(points, colors, game_offsets, sample_game, sample_event, sample_sym, encoder, size)``
    a batch of samples from a game stream (see the stream contract below);
    a compiled kernel takes its samples in (game, event) order and replays
    each game forward once, writing each sample to its own row.  The kernel releases
    the GIL (``nogil``) and runs on ``numba.get_num_threads()`` threads, each
    on a contiguous slice of the batch.  (A ``prange`` kernel was measured
    to be no faster but to add 10-16 s of first-call compile time.)

Game stream: ``points`` int16 [E] (flat point or ``M = N*N`` for pass),
``colors`` int8 [E] (1/2 = black/white move; -1/-2/-3 = setup black/white/
remove, which are not moves), ``game_offsets`` int64 [G+1].  Sample ``b`` is
event ``sample_event[b]`` (a move) of game ``sample_game[b]``: the board after
events ``game_offsets[g] .. sample_event[b]-1``, with ``colors[sample_event[b]]``
to move, under symmetry ``sample_sym[b]``.

Every plane is relative to the player to move ("own" / "opponent").  The
feature of point p is written at point ``T[k, p]`` of the output, where
``T = symmetry_table(N)`` and k is the sample's symmetry.

Plane semantics
---------------
Legal (for features) means: empty, not the simple-ko point, not suicide.
Superko is not considered.

alphago48 (Silver et al. 2016, Extended Data Table 2):

- 0-2 own stone, opponent stone, empty; 3 ones.
- 4-11 turns since the stone was played, 1..7, >=8 (one-hot, stones only).
  The stone played by the last move has age 1; a move is any move event,
  passes included; setup stones and stones older than the known history
  count as >= 8.
- 12-19 liberties of the chain at the point, 1..7, >=8 (stones only).
- 20-27 capture size: opponent stones removed by playing here, 0..6, >=7
  (legal empty points only, so bucket 0 marks "legal, captures nothing").
- 28-35 self-atari size: if playing here leaves the new own chain with
  exactly one liberty, the size of that chain (stones, the played one
  included), 1..7, >=8 (legal empty points only).  The liberty count is
  exact, as in planes 36-43, captures included: a move that captures two or
  more stones and still leaves one liberty is a self-atari here, while the
  rollout policy's SELF_ATARI feature (``games.go.rollout``) never counts a
  capture of two or more stones.
- 36-43 liberties after move: distinct liberties of the own chain formed by
  playing here, after removing the stones it captures (a captured stone next
  to the new chain becomes a liberty), 1..7, >=8 (legal empty points only).
- 44 ladder capture, 45 ladder escape: see below.
- 46 sensibleness: legal and not a single-point eye of the player to move
  (``_core.is_eye``: all neighbours own, and fewer than two opponent diagonals,
  none on the edge).
- 47 zeros.

alphago49 adds plane 48: ones if the player to move is black.

agz17: 0-7 own stones at t, t-1, ..., t-7; 8-15 opponent stones at t, ...,
t-7 ("own" is the player to move now); 16 ones if black is to move.  The
board at t-j is the board just before the j-th last move; where the known
history has fewer than j moves, the oldest known board is repeated (so a
position without history repeats its own board).

Ladders
-------
A ladder is read on a copy of the board by a depth-first search between an
*attacker* and a *defender* whose chain (the *runner*) is in atari:

- Defender to move (runner has 1 liberty L).  The defender's candidate moves
  are: extending at L, and capturing any attacker chain in atari that touches
  the runner (playing its liberty).  After a candidate, the runner escapes if
  it has >= 3 liberties, or 2 liberties and the attacker cannot capture it
  (attacker to move); with 1 liberty the candidate fails.  The runner is
  captured when every candidate fails (or none is legal).
- Attacker to move (runner has 2 liberties).  The attacker tries both
  liberties (an atari that puts the attacking stone itself in atari is
  allowed; the defender may then capture it).  The runner is captured if
  some atari leaves it in atari and the defender then cannot escape.

Moves in the search capture normally and may not be suicide; ko is ignored
inside the search.  An atari at x whose other liberty y has >= 3 empty
neighbours besides x is skipped without playing it (extending at y must give
>= 3 liberties, so it can never work).  The search gives up after
``LADDER_MAX_NODES`` nodes (per question) or ``LADDER_MAX_DEPTH`` plies and
then counts the runner as *not* captured (a ladder that cannot be read to the
end is no ladder).  The runner's liberties are recounted by flood fill on a
colour array with an undo log; the search runs only from chains with exactly
2 liberties (capture) or 1 liberty (escape).

- Plane 44, ladder capture: a legal point p that is one of the two
  liberties of an opponent chain with exactly 2 liberties, such that after
  the player to move plays p the chain is in atari and is captured by the
  reading above (defender to move).
- Plane 45, ladder escape: a legal point p that is a defender candidate
  (extension at the liberty, or capture of a touching attacker chain in
  atari) for an own chain in atari, such that after playing p that chain
  escapes by the reading above.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import njit

from games.go import _core, coords
from games.go._pool import run_slices
from games.go._core import BLACK, COLOR, EMPTY, HEAD, KO, NEXT, NO_POINT, NUM_EMPTY, NUM_ROWS, SIZE

__all__ = [
    "ENCODERS",
    "LADDER_MAX_DEPTH",
    "LADDER_MAX_NODES",
    "encode_games",
    "encode_position",
    "inverse_symmetry",
    "num_planes",
    "symmetry_table",
]

ENCODERS: dict[str, int] = {"alphago48": 48, "alphago49": 49, "agz17": 17}
_CODES = {"alphago48": 0, "alphago49": 1, "agz17": 2}
_AGZ = 2

LADDER_MAX_NODES = 200  # search nodes per ladder question
LADDER_MAX_DEPTH = 120  # plies
_OPT_WIDTH = 64  # defender capture candidates kept per ply

_OLD = 1 << 20  # age of setup stones and stones older than the known history

# plane offsets (alphago48)
P_OWN, P_OPP, P_EMPTY, P_ONES = 0, 1, 2, 3
P_AGE, P_LIBS, P_CAPTURE, P_SELF_ATARI, P_LIBS_AFTER = 4, 12, 20, 28, 36
P_LADDER_CAPTURE, P_LADDER_ESCAPE, P_SENSIBLE, P_ZEROS, P_BLACK = 44, 45, 46, 47, 48


def num_planes(encoder: str) -> int:
    """Planes produced by ``encoder`` (ValueError naming the known encoders otherwise)."""
    try:
        return ENCODERS[encoder]
    except (KeyError, TypeError):
        raise ValueError(f"unknown encoder {encoder!r}: expected one of {', '.join(ENCODERS)}") from None


# ---- symmetries ------------------------------------------------------------------


def _sym_point(k: int, r: int, c: int, n: int) -> tuple[int, int]:
    if k & 1:
        r = n - 1 - r
    if k & 2:
        c = n - 1 - c
    if k & 4:
        r, c = c, r
    return r, c


@lru_cache(maxsize=None)
def _symmetry_table(size: int) -> np.ndarray:
    m = size * size
    t = np.empty((8, m + 1), np.int32)
    for k in range(8):
        for p in range(m):
            r, c = _sym_point(k, p // size, p % size, size)
            t[k, p] = r * size + c
        t[k, m] = m
    t.setflags(write=False)
    return t


def symmetry_table(size: int) -> np.ndarray:
    """int32 [8, M+1]: ``T[k, p]`` is the image of point p under symmetry k (pass maps to pass).

    k = 0 is the identity; bit 0 flips rows, bit 1 flips columns, bit 2 then
    transposes, which gives the 8 symmetries of the square.
    """
    coords.check_size(size)
    return _symmetry_table(size)


def _compute_inverses() -> tuple[int, ...]:
    t = _symmetry_table(5)
    ident = np.arange(26)
    inv = []
    for k in range(8):
        inv.append(next(j for j in range(8) if np.array_equal(t[j][t[k]], ident)))
    return tuple(inv)


_INVERSE = _compute_inverses()


def inverse_symmetry(k: int) -> int:
    """The symmetry j with ``T[j][T[k][p]] == p`` for every p."""
    if not isinstance(k, (int, np.integer)) or not 0 <= k < 8:
        raise ValueError(f"symmetry must be an integer from 0 to 7, got {k!r}")
    return _INVERSE[int(k)]


# ---- ladder reading on a colour array with an undo log ------------------------------------


@njit(cache=True)
def _flood(col, nbr, num_nbr, start, stamp, tagbox, sbuf, lbuf, max_libs):
    """Chain of the stone at ``start``: (stones found, distinct liberties found).

    Stones go to ``sbuf`` and liberties to ``lbuf``; stops early once
    ``max_libs`` liberties are found (then the stone list is incomplete).
    """
    tagbox[0] += 1
    tag = tagbox[0]
    c = col[start]
    stamp[start] = tag
    sbuf[0] = start
    ns = 1
    nl = 0
    i = 0
    while i < ns:
        r = sbuf[i]
        i += 1
        for k in range(num_nbr[r]):
            q = nbr[r, k]
            if stamp[q] == tag:
                continue
            cq = col[q]
            if cq == EMPTY:
                stamp[q] = tag
                lbuf[nl] = q
                nl += 1
                if nl >= max_libs:
                    return ns, nl
            elif cq == c:
                stamp[q] = tag
                sbuf[ns] = q
                ns += 1
    return ns, nl


@njit(cache=True)
def _undo(col, log_p, log_c, logn, mark):
    n = logn[0]
    while n > mark:
        n -= 1
        col[log_p[n]] = log_c[n]
    logn[0] = mark


@njit(cache=True, inline="always")
def _has_empty_nbr(col, nbr, num_nbr, q):
    for k in range(num_nbr[q]):
        if col[nbr[q, k]] == EMPTY:
            return True
    return False


@njit(cache=True, inline="always")
def _wplay(col, nbr, num_nbr, p, c, stamp, tagbox, sbuf, lbuf, log_p, log_c, logn):
    """Play c at empty p on the work board with captures; False (and no change) for suicide."""
    mark = logn[0]
    n = mark
    col[p] = c
    log_p[n] = p
    log_c[n] = EMPTY
    n += 1
    logn[0] = n
    opp = 3 - c
    free = False  # p has a liberty or captured something: not suicide
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        cq = col[q]
        if cq == EMPTY:
            free = True
            continue
        if cq != opp or _has_empty_nbr(col, nbr, num_nbr, q):
            continue
        ns, nl = _flood(col, nbr, num_nbr, q, stamp, tagbox, sbuf, lbuf, 1)
        if nl == 0:
            free = True
            n = logn[0]
            for i in range(ns):
                r = sbuf[i]
                col[r] = EMPTY
                log_p[n] = r
                log_c[n] = opp
                n += 1
            logn[0] = n
    ok = True  # one exit only: early returns keep numba's reference counting of the array arguments
    if not free:
        ns, nl = _flood(col, nbr, num_nbr, p, stamp, tagbox, sbuf, lbuf, 1)
        if nl == 0:
            _undo(col, log_p, log_c, logn, mark)
            ok = False
    return ok


@njit(cache=True)
def _capture_options(col, nbr, num_nbr, runner, ns, stamp, tagbox, sbuf, lbuf, opts, row):
    """Liberties of attacker chains in atari touching the runner's chain, into ``opts[row]``.

    ``sbuf[:ns]`` must hold all the runner's stones (a complete ``_flood``).
    """
    d = col[runner]
    a = 3 - d
    width = opts.shape[1]
    # attacker stones next to the runner (deduplicated by point), kept in opts[row]
    na = 0
    tagbox[0] += 1
    seen = tagbox[0]
    for i in range(ns):
        r = sbuf[i]
        for k in range(num_nbr[r]):
            q = nbr[r, k]
            if col[q] == a and na < width - 1 and stamp[q] != seen:
                stamp[q] = seen
                opts[row, na] = q
                na += 1
    # replace them by the liberties of those in atari (deduplicated)
    nopt = 0
    first = tagbox[0] + 1  # stones stamped from here on belong to attacker chains already read
    for j in range(na):
        q = opts[row, j]
        if stamp[q] >= first:
            continue
        # a stone with two empty neighbours cannot be in a chain in atari
        e = 0
        for k in range(num_nbr[q]):
            if col[nbr[q, k]] == EMPTY:
                e += 1
        if e >= 2:
            continue
        ns2, nl2 = _flood(col, nbr, num_nbr, q, stamp, tagbox, sbuf, lbuf, 2)
        if nl2 == 1:
            x = lbuf[0]
            dup = False
            for t in range(nopt):
                if opts[row, t] == x:
                    dup = True
                    break
            if not dup:
                opts[row, nopt] = x
                nopt += 1
    return nopt


@njit(cache=True, inline="always")
def _wide_open(col, nbr, num_nbr, y, x):
    """Point y has >= 3 empty neighbours other than x: extending there after an atari at x
    gives >= 3 liberties whatever else happens, so that atari fails."""
    n = 0
    for k in range(num_nbr[y]):
        q = nbr[y, k]
        if q != x and col[q] == EMPTY:
            n += 1
    return n >= 3


@njit(cache=True, inline="always")
def _frame_init(col, nbr, num_nbr, runner, ns, att, row, stamp, tagbox, sbuf, lbuf, opts, nopt, idx):
    """Candidate moves of a search node: the runner's two liberties (attacker), or
    captures of touching attacker chains in atari plus the extension (defender).

    Called right after a complete ``_flood`` of the runner (``sbuf[:ns]``, ``lbuf``).
    """
    idx[row] = 0
    if att:
        opts[row, 0] = lbuf[0]
        opts[row, 1] = lbuf[1]
        nopt[row] = 2
    else:
        lib = lbuf[0]
        n = _capture_options(col, nbr, num_nbr, runner, ns, stamp, tagbox, sbuf, lbuf, opts, row)
        found = False
        for j in range(n):
            if opts[row, j] == lib:
                found = True
                break
        if found:
            nopt[row] = n
        else:
            opts[row, n] = lib
            nopt[row] = n + 1


@njit(cache=True)
def _ladder_captured(col, nbr, num_nbr, runner, ns, attacker_turn, stamp, tagbox, sbuf, lbuf, log_p, log_c, logn, opts,
                     nopt, idx, mark, budget):
    """Whether the chain at ``runner`` is captured by ladder reading (see the module docstring).

    With ``attacker_turn`` the runner must have exactly 2 liberties, otherwise
    exactly 1, and the caller has just flooded it completely (``ns`` stones
    in ``sbuf``, its liberties in ``lbuf``).  Iterative depth-first search;
    the board is restored on return.
    """
    d_col = col[runner]
    a_col = 3 - d_col
    max_depth = opts.shape[0]
    depth = 0
    _frame_init(col, nbr, num_nbr, runner, ns, attacker_turn, 0, stamp, tagbox, sbuf, lbuf, opts, nopt, idx)
    while True:
        att = (depth % 2 == 0) == attacker_turn
        have = False
        result = False
        i = idx[depth]
        if i >= nopt[depth]:
            have = True
            result = not att  # attacker out of ataris: not captured; defender out of escapes: captured
        else:
            idx[depth] = i + 1
            x = opts[depth, i]
            if att and _wide_open(col, nbr, num_nbr, opts[depth, 1 - i], x):
                continue
            mk = logn[0]
            if not _wplay(col, nbr, num_nbr, x, a_col if att else d_col, stamp, tagbox, sbuf, lbuf, log_p, log_c,
                          logn):
                continue
            ns, nl = _flood(col, nbr, num_nbr, runner, stamp, tagbox, sbuf, lbuf, 3)
            if att and nl != 1:
                _undo(col, log_p, log_c, logn, mk)
                continue
            if not att:
                if nl >= 3:
                    _undo(col, log_p, log_c, logn, mk)
                    have = True
                    result = False
                elif nl <= 1:
                    _undo(col, log_p, log_c, logn, mk)
                    continue
            if not have:
                if budget[0] <= 0 or depth + 1 >= max_depth:
                    # unreadable: the child counts as not captured
                    _undo(col, log_p, log_c, logn, mk)
                    if att:
                        continue
                    have = True
                    result = False
                else:
                    budget[0] -= 1
                    mark[depth] = mk
                    depth += 1
                    _frame_init(col, nbr, num_nbr, runner, ns, not att, depth, stamp, tagbox, sbuf, lbuf, opts, nopt,
                                idx)
                    continue
        # frame ``depth`` is decided: hand the result up
        while True:
            if depth == 0:
                return result
            depth -= 1
            _undo(col, log_p, log_c, logn, mark[depth])
            att = (depth % 2 == 0) == attacker_turn
            if att != result:
                break  # the parent goes on with its next candidate
            # attacker parent found a capture (result True) or defender parent found an escape (False)


# ---- the encoder ----------------------------------------------------------------------


@njit(cache=True)
def _encode_state(s, ko, c, age, boards, code, tmap, nbr, num_nbr, diag, num_diag, out):
    """Write the planes of the position in ``s`` (``c`` to move) into ``out`` uint8 [P, M].

    ``age`` int32 [M]: turns since each stone was played (large for old).
    ``boards`` int8 [8, M]: the board at t, t-1, ..., t-7 (agz17 only).
    Returns the number of ladder search nodes used (for statistics).
    """
    m = s.shape[1]
    opp = 3 - c
    out[:, :] = 0
    if code == _AGZ:
        for j in range(8):
            for p in range(m):
                v = boards[j, p]
                if v == c:
                    out[j, tmap[p]] = 1
                elif v == opp:
                    out[8 + j, tmap[p]] = 1
        if c == BLACK:
            out[16, :] = 1
        return 0
    if code == 1 and c == BLACK:
        out[P_BLACK, :] = 1
    out[P_ONES, :] = 1

    # ---- per chain: distinct liberties, listed (CSR by head) ----
    stamp = np.zeros(m, np.int32)
    tag = 0
    libs = np.zeros(m, np.int32)  # at heads
    lstart = np.zeros(m, np.int32)  # at heads
    lbuf = np.empty(4 * m + 4, np.int32)
    nlb = 0
    for h in range(m):
        if s[COLOR, h] == EMPTY or s[HEAD, h] != h:
            continue
        tag += 1
        lstart[h] = nlb
        r = h
        while True:
            for k in range(num_nbr[r]):
                q = nbr[r, k]
                if s[COLOR, q] == EMPTY and stamp[q] != tag:
                    stamp[q] = tag
                    lbuf[nlb] = q
                    nlb += 1
            r = s[NEXT, r]
            if r == h:
                break
        libs[h] = nlb - lstart[h]

    legal = np.zeros(m, np.bool_)
    need_ladder = False
    own_heads = np.empty(4, np.int32)
    cap_heads = np.empty(4, np.int32)
    for p in range(m):
        q = tmap[p]
        col = s[COLOR, p]
        if col != EMPTY:
            h = s[HEAD, p]
            if col == c:
                out[P_OWN, q] = 1
            else:
                out[P_OPP, q] = 1
            a = age[p]
            out[P_AGE + (a if a < 8 else 8) - 1, q] = 1
            lb = libs[h]
            out[P_LIBS + (lb if lb < 8 else 8) - 1, q] = 1
            if lb <= 2 and (lb == 2) == (col != c):
                need_ladder = True
            continue
        out[P_EMPTY, q] = 1
        if p == ko:
            continue
        # neighbours: empties, own chains, opponent chains captured
        n_own = 0
        n_cap = 0
        captured = 0
        has_empty = False
        survives = False
        all_own = True  # every neighbour is an own stone (is_eye's first test, read here for free)
        for k in range(num_nbr[p]):
            t = nbr[p, k]
            ct = s[COLOR, t]
            if ct != c:
                all_own = False
            if ct == EMPTY:
                has_empty = True
                continue
            ht = s[HEAD, t]
            if ct == c:
                dup = False
                for j in range(n_own):
                    if own_heads[j] == ht:
                        dup = True
                if not dup:
                    own_heads[n_own] = ht
                    n_own += 1
                    if libs[ht] >= 2:
                        survives = True
            elif libs[ht] == 1:
                dup = False
                for j in range(n_cap):
                    if cap_heads[j] == ht:
                        dup = True
                if not dup:
                    cap_heads[n_cap] = ht
                    n_cap += 1
                    captured += s[SIZE, ht]
        if not (has_empty or survives or n_cap > 0):
            continue  # suicide
        legal[p] = True
        # liberties of the chain formed by playing p
        tag += 1
        stamp[p] = tag
        n = 0
        for k in range(num_nbr[p]):
            t = nbr[p, k]
            if s[COLOR, t] == EMPTY and stamp[t] != tag:
                stamp[t] = tag
                n += 1
        size_after = 1
        for j in range(n_own):
            ht = own_heads[j]
            size_after += s[SIZE, ht]
            if n < 8:
                for i in range(lstart[ht], lstart[ht] + libs[ht]):
                    t = lbuf[i]
                    if stamp[t] != tag:
                        stamp[t] = tag
                        n += 1
        if n < 8:
            for j in range(n_cap):
                hc = cap_heads[j]
                r = hc
                while True:
                    # r becomes a liberty if it touches p or a stone of a merged own chain
                    touches = False
                    for k in range(num_nbr[r]):
                        t = nbr[r, k]
                        if t == p:
                            touches = True
                        elif s[COLOR, t] == c:
                            ht = s[HEAD, t]
                            for i in range(n_own):
                                if own_heads[i] == ht:
                                    touches = True
                    if touches and stamp[r] != tag:
                        stamp[r] = tag
                        n += 1
                    r = s[NEXT, r]
                    if r == hc:
                        break
        out[P_CAPTURE + (captured if captured < 7 else 7), q] = 1
        out[P_LIBS_AFTER + (n if n < 8 else 8) - 1, q] = 1
        if n == 1:
            out[P_SELF_ATARI + (size_after if size_after < 8 else 8) - 1, q] = 1
        # sensibleness: not an own eye.  is_eye decides (inline="always": no call); all_own only spares
        # its body at the many points with a neighbour that is not own, where it is False anyway
        if not (all_own and _core.is_eye(s, nbr, num_nbr, diag, num_diag, p, c)):
            out[P_SENSIBLE, q] = 1

    if not need_ladder:
        return 0
    # ---- ladders, read on a work copy of the colours ----
    wcol = np.empty(m, np.int8)
    for p in range(m):
        wcol[p] = s[COLOR, p]
    wstamp = np.zeros(m, np.int32)
    tagbox = np.zeros(1, np.int32)
    sbuf = np.empty(m, np.int32)
    wlbuf = np.empty(m, np.int32)
    cap_log = 4 * m + 2 * LADDER_MAX_DEPTH + 8
    log_p = np.empty(cap_log, np.int32)
    log_c = np.empty(cap_log, np.int8)
    logn = np.zeros(1, np.int64)
    opts = np.empty((LADDER_MAX_DEPTH + 1, _OPT_WIDTH), np.int32)
    nopt = np.empty(LADDER_MAX_DEPTH + 1, np.int32)
    cand = np.empty(_OPT_WIDTH, np.int32)
    idx = np.empty(LADDER_MAX_DEPTH + 1, np.int32)
    mark = np.empty(LADDER_MAX_DEPTH + 1, np.int64)
    budget = np.full(1, LADDER_MAX_NODES, np.int64)
    nodes = 0
    for h in range(m):
        if s[COLOR, h] == EMPTY or s[HEAD, h] != h:
            continue
        lb = libs[h]
        if s[COLOR, h] == opp and lb == 2:
            for i in range(lstart[h], lstart[h] + 2):
                x = lbuf[i]
                qx = tmap[x]
                if not legal[x] or out[P_LADDER_CAPTURE, qx] != 0:
                    continue
                if _wide_open(wcol, nbr, num_nbr, lbuf[2 * lstart[h] + 1 - i], x):
                    continue
                if not _wplay(wcol, nbr, num_nbr, x, c, wstamp, tagbox, sbuf, wlbuf, log_p, log_c, logn):
                    continue
                ns, nl = _flood(wcol, nbr, num_nbr, h, wstamp, tagbox, sbuf, wlbuf, 2)
                if nl == 1:
                    nodes += LADDER_MAX_NODES - budget[0]
                    budget[0] = LADDER_MAX_NODES
                    # (a runtime False, not the literal: numba would compile one copy per literal)
                    if _ladder_captured(wcol, nbr, num_nbr, h, ns, nl != 1, wstamp, tagbox, sbuf, wlbuf, log_p, log_c,
                                        logn, opts, nopt, idx, mark, budget):
                        out[P_LADDER_CAPTURE, qx] = 1
                _undo(wcol, log_p, log_c, logn, 0)
        elif s[COLOR, h] == c and lb == 1:
            ns, nl = _flood(wcol, nbr, num_nbr, h, wstamp, tagbox, sbuf, wlbuf, 2)
            ncand = _capture_options(wcol, nbr, num_nbr, h, ns, wstamp, tagbox, sbuf, wlbuf, opts, 0)
            for j in range(ncand):
                cand[j] = opts[0, j]  # the search reuses opts
            cand[ncand] = lbuf[lstart[h]]
            for j in range(ncand + 1):
                x = cand[j]
                qx = tmap[x]
                if not legal[x] or out[P_LADDER_ESCAPE, qx] != 0:
                    continue
                if not _wplay(wcol, nbr, num_nbr, x, c, wstamp, tagbox, sbuf, wlbuf, log_p, log_c, logn):
                    continue
                ns, nl = _flood(wcol, nbr, num_nbr, h, wstamp, tagbox, sbuf, wlbuf, 3)
                escaped = nl >= 3
                if nl == 2:
                    nodes += LADDER_MAX_NODES - budget[0]
                    budget[0] = LADDER_MAX_NODES
                    escaped = not _ladder_captured(wcol, nbr, num_nbr, h, ns, nl == 2, wstamp, tagbox, sbuf, wlbuf,
                                                   log_p, log_c, logn, opts, nopt, idx, mark, budget)
                _undo(wcol, log_p, log_c, logn, 0)
                if escaped:
                    out[P_LADDER_ESCAPE, qx] = 1
    return nodes + LADDER_MAX_NODES - budget[0]


@njit(cache=True, nogil=True)
def _encode_states(s, ko, c, age, boards, code, tmap, nbr, num_nbr, diag, num_diag, out):
    """``_encode_state`` over a batch: ``s`` int32 [B, NUM_ROWS, M], ``ko``/``c`` int64 [B],
    ``age`` int32 [B, M], ``boards`` int8 [B, 8, M] (agz17; any [B, K, M] otherwise), ``out`` uint8 [B, P, M].

    The one compiled entry for encoding given states: ``encode_position`` (B = 1) and
    ``games.go.batch`` share it, so the large encoder is compiled once.
    """
    for b in range(s.shape[0]):
        _encode_state(s[b], ko[b], c[b], age[b], boards[b], code, tmap, nbr, num_nbr, diag, num_diag, out[b])


# ---- replaying game streams ---------------------------------------------------------------


@njit(cache=True)
def _apply_events(points, colors, lo, hi, s, g, played, setup, ring, want_boards, mc, nbr, num_nbr, zob):
    """Apply stream events lo..hi-1 to the state; returns the new move count.

    Moves are played (``played[p]`` = the move's index, passes count as moves); setup events are
    collected in ``setup`` and applied by one ``rebuild`` before the next move (and at the end).
    With ``want_boards``, ``ring[mc % 8]`` keeps the board before move mc (agz17 history).
    """
    m = s.shape[1]
    dirty = False
    for i in range(lo, hi):
        ci = colors[i]
        p = np.int64(points[i])
        if ci < 0:
            if not dirty:
                for t in range(m):
                    setup[t] = s[COLOR, t]
                dirty = True
            if ci == -3:
                setup[p] = EMPTY
            else:
                setup[p] = -ci
                played[p] = -_OLD
            continue
        if dirty:
            _core.rebuild(s, g, nbr, num_nbr, zob, setup)
            dirty = False
        if want_boards:
            r = mc % 8
            for t in range(m):
                ring[r, t] = s[COLOR, t]
        if p == m:
            g[_core.PASSES] += 1
            g[KO] = NO_POINT
        else:
            _core.place(s, g, nbr, num_nbr, zob, p, ci)
            played[p] = mc
        mc += 1
    if dirty:
        _core.rebuild(s, g, nbr, num_nbr, zob, setup)
    return mc


@njit(cache=True)
def _ages_and_boards(s, played, ring, total, want_boards, age, boards):
    """``age`` (turns since, capped at _OLD) and, with ``want_boards``, ``boards[k]`` = the board k
    moves ago (the oldest known board repeated where history runs out), after ``total`` moves."""
    m = s.shape[1]
    for t in range(m):
        if s[COLOR, t] != EMPTY:
            a = total - played[t]
            age[t] = a if a < _OLD else _OLD
        else:
            age[t] = 0
    if want_boards:
        for t in range(m):
            boards[0, t] = s[COLOR, t]
        oldest = total if total < 7 else 7
        for k in range(1, oldest + 1):
            r = (total - k) % 8
            for t in range(m):
                boards[k, t] = ring[r, t]
        for k in range(oldest + 1, 8):
            for t in range(m):
                boards[k, t] = boards[oldest, t]


@njit(cache=True)
def _trace_ages_and_boards(s, trace, total, age, boards):
    """``_ages_and_boards`` from the history a position carries (``_core``'s ``trace``) after ``total``
    moves: the age row gives the move that played each stone (age ``AGE_OLD``: old)."""
    m = s.shape[1]
    played = np.empty(m, np.int64)
    for t in range(m):
        played[t] = total - trace[_core.AGE, t]
    _ages_and_boards(s, played, trace[:_core.AGE], total, True, age, boards)


@njit(cache=True)
def _replay(points, colors, start, end, s, g, age, boards, want_boards, nbr, num_nbr, zob):
    """Replay events start..end-1 onto an empty state; fill ``age`` and (optionally) ``boards``."""
    m = s.shape[1]
    played = np.full(m, -_OLD, np.int64)
    setup = np.empty(m, np.int8)
    ring = np.empty((8 if want_boards else 1, m), np.int8)
    total = _apply_events(points, colors, start, end, s, g, played, setup, ring, want_boards, 0, nbr, num_nbr, zob)
    _ages_and_boards(s, played, ring, total, want_boards, age, boards)


@njit(cache=True)
def _new_state(m):
    s = np.zeros((NUM_ROWS, m), np.int32)
    for p in range(m):
        s[_core.EMPTY_LIST, p] = p
        s[_core.EMPTY_POS, p] = p
    g = np.zeros(_core.NUM_SCALARS, np.int64)
    g[_core.TO_MOVE] = BLACK
    g[KO] = NO_POINT
    g[NUM_EMPTY] = m
    return s, g


@njit(cache=True, nogil=True)
def _encode_games_serial(points, colors, offsets, sample_game, sample_event, sample_sym, code, tmaps, nbr, num_nbr,
                         diag, num_diag, zob, out):
    """Encode samples in (game, event) order, replaying each game forward once.

    Events of a game are contiguous and games are in order, so sorting by event
    sorts by (game, event).  ``_apply_events`` and ``_ages_and_boards`` are shared with ``_replay``
    (the from-scratch replay); outputs go to the samples' own rows.
    """
    nb = sample_game.shape[0]
    if nb == 0:
        return
    m = tmaps.shape[1] - 1
    order = np.argsort(sample_event, kind="mergesort")
    want = code == _AGZ
    s, g = _new_state(m)
    age = np.empty(m, np.int32)
    boards = np.empty((8 if want else 1, m), np.int8)
    ring = np.empty((8 if want else 1, m), np.int8)  # ring[mc % 8]: the board before move mc
    played = np.empty(m, np.int64)
    setup = np.empty(m, np.int8)
    cur_game = -1
    cursor = 0
    mc = 0
    for j in range(nb):
        b = order[j]
        game = sample_game[b]
        event = sample_event[b]
        if game != cur_game:
            s, g = _new_state(m)
            for t in range(m):
                played[t] = -_OLD
            cur_game = game
            cursor = offsets[game]
            mc = 0
        mc = _apply_events(points, colors, cursor, event, s, g, played, setup, ring, want, mc, nbr, num_nbr, zob)
        cursor = event
        _ages_and_boards(s, played, ring, mc, want, age, boards)
        _encode_state(s, g[KO], np.int64(colors[event]), age, boards, code, tmaps[sample_sym[b]], nbr, num_nbr, diag,
                      num_diag, out[b])


# ---- Python API -------------------------------------------------------------------------


def _check_out(out, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.uint8)
    if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.shape != shape or not out.flags.c_contiguous:
        got = (getattr(out, "dtype", type(out).__name__), getattr(out, "shape", None))
        raise ValueError(f"out must be a C-contiguous uint8 array of shape {shape}, got {got}")
    return out


def _check_symmetry(k) -> int:
    if not isinstance(k, (int, np.integer)) or not 0 <= k < 8:
        raise ValueError(f"symmetry must be an integer from 0 to 7, got {k!r}")
    return int(k)


def _history(position) -> tuple[np.ndarray, np.ndarray]:
    """(age int32 [M], boards int8 [8, M]) from the history the position carries (no parent chain)."""
    m = position._s.shape[1]
    age = np.empty(m, np.int32)
    boards = np.empty((8, m), np.int8)
    _trace_ages_and_boards(position._s, position._trace, position._g[_core.MOVES], age, boards)
    return age, boards


def encode_position(position, encoder: str, *, symmetry: int = 0, out=None) -> np.ndarray:
    """uint8 [P, N, N]: the planes of ``encoder`` for the side to move of ``position``."""
    num = num_planes(encoder)
    k = _check_symmetry(symmetry)
    n = position.size
    out = _check_out(out, (num, n, n))
    geo = _core.geometry(n)
    age, boards = _history(position)
    _encode_states(position._s[None], np.array([position._g[KO]], np.int64), np.array([position.to_move], np.int64),
                   age[None], boards[None], _CODES[encoder], symmetry_table(n)[k], geo.nbr, geo.num_nbr, geo.diag,
                   geo.num_diag, out.reshape(1, num, n * n))
    return out


def encode_games(points, colors, game_offsets, sample_game, sample_event, sample_sym, encoder: str, size: int,
                 out=None) -> np.ndarray:
    """uint8 [B, P, N, N]: sample b is event ``sample_event[b]`` of game ``sample_game[b]`` under
    symmetry ``sample_sym[b]`` (compiled, parallel over samples on ``numba.get_num_threads()`` threads)."""
    num = num_planes(encoder)
    table = symmetry_table(size)
    m = size * size
    points = np.ascontiguousarray(points, np.int16)
    colors = np.ascontiguousarray(colors, np.int8)
    offsets = np.ascontiguousarray(game_offsets, np.int64)
    sg = np.ascontiguousarray(sample_game, np.int64)
    se = np.ascontiguousarray(sample_event, np.int64)
    ss = np.ascontiguousarray(sample_sym, np.int64)
    if points.ndim != 1 or colors.shape != points.shape:
        raise ValueError(f"points and colors must be 1-d of equal length, got {points.shape} and {colors.shape}")
    if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or offsets[-1] != points.size \
            or np.any(np.diff(offsets) < 0):
        raise ValueError(f"game_offsets must rise from 0 to the number of events ({points.size})")
    if not (sg.ndim == se.ndim == ss.ndim == 1 and sg.size == se.size == ss.size):
        raise ValueError(f"sample_game, sample_event, sample_sym must be 1-d of equal length, "
                         f"got {sg.shape}, {se.shape}, {ss.shape}")
    num_games = offsets.size - 1
    if sg.size:
        if sg.min() < 0 or sg.max() >= num_games:
            raise ValueError(f"sample_game out of range 0..{num_games - 1}")
        if np.any(se < offsets[sg]) or np.any(se >= offsets[sg + 1]):
            bad = int(np.flatnonzero((se < offsets[sg]) | (se >= offsets[sg + 1]))[0])
            raise ValueError(f"sample {bad}: event {int(se[bad])} is not in game {int(sg[bad])}")
        if np.any((colors[se] != 1) & (colors[se] != 2)):
            bad = int(np.flatnonzero((colors[se] != 1) & (colors[se] != 2))[0])
            raise ValueError(f"sample {bad}: event {int(se[bad])} is not a move (color {int(colors[se[bad]])})")
        if ss.min() < 0 or ss.max() > 7:
            raise ValueError("sample_sym must be in 0..7")
    if points.size and (points.min() < 0 or points.max() > m):
        raise ValueError(f"points must be in 0..{m} for a {size}x{size} board")
    out = _check_out(out, (sg.size, num, size, size))
    geo = _core.geometry(size)
    flat = out.reshape(sg.size, num, m)
    args = (_CODES[encoder], table, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob)
    num_threads = min(numba.get_num_threads(), max(1, sg.size // _MIN_CHUNK))
    if num_threads <= 1:
        _encode_games_serial(points, colors, offsets, sg, se, ss, *args, flat)
        return out
    run_slices(lambda lo, hi: _encode_games_serial(points, colors, offsets, sg[lo:hi], se[lo:hi], ss[lo:hi], *args,
                                                   flat[lo:hi]), sg.size, num_threads)
    return out


_MIN_CHUNK = 16  # samples per thread at least
