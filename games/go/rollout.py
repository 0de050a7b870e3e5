"""The fast rollout policy (AlphaGo, Silver et al. 2016, Methods "Rollout policy").

A linear softmax over local pattern features: a move's score is the sum of the
weights of its active features, and the policy is the softmax of the scores
over the legal moves that do not fill the mover's own single-point eye (pass
only when there is none).  Everything that runs per move is compiled (numba);
``RolloutPolicy`` is the readable Python API over it.

Features of a candidate move p for colour c (layout version ``LAYOUT_VERSION``;
colours are relative to the mover, "atari" means the chain has one liberty):

``PAT3``      (2**20) the 3x3 pattern around p: each orthogonal neighbour is
              empty / off-board / own / own-in-atari / opponent / opponent-in-
              atari (3 bits), each diagonal empty / off-board / own / opponent
              (2 bits); the code is made canonical under the 8 board symmetries
              (the smallest code of its orbit) and used as the index.
``SAVE``      (1) save-atari: p touches an own chain in atari and either
              captures or has at least two "liberty sources" (empty orthogonal
              neighbours plus own orthogonal neighbour stones not in atari).
``CAPTURE``   (1) p is the liberty of an opponent chain in atari.
``SELF_ATARI``(1) after p the mover's chain has exactly one liberty, where a
              captured lone stone counts as the one liberty it leaves, and a
              move that captures a chain of two or more stones is never a
              self-atari (even when the new chain is left with one liberty;
              the alphago48 feature planes 28-35 of ``games.go.features`` count
              exactly and call that move a self-atari).  Trained weights depend
              on this definition (``_self_atari``).  Its weight must be <= 0
              (training projects it), which lets playouts sample it exactly by
              rejection.
``RESP``      (2**16) response pattern: the 12-point diamond (Manhattan distance
              <= 2) around the previous move, each point in the 6 orthogonal
              states above, together with p's place in the diamond, made
              canonical under symmetry and hashed to a table index.  Only for p
              inside the diamond.
``OFFSET``    (12) p's place in the diamond around the previous move.
``DIST3``     (1) p is at Manhattan distance 3 from the previous move.
``DIST2ND``   (3) p is at Manhattan distance 1, 2 or 3 from the move before.

Fast playouts (``rollout_playout``/``rollout_playouts``) keep, for each colour,
a cached weight exp(score) per empty point made of the features that depend
only on the 3x3 neighbourhood and its atari flags (PAT3, SAVE, CAPTURE,
legality, eye).  After a move only the points near the stone played and near
captured stones, plus the liberties of chains whose atari state changed, are
recomputed (``_verify`` checks this against a fresh computation in tests).
The response features multiply the weights of the <= 36 points near the last
two moves for one draw only; a draw walks exact sums over blocks of 16 points
(kept by differences, re-summed if rounding ever shows); SELF_ATARI is applied
by rejection (a self-atari draw is accepted with probability exp(w) <= 1, else
exp(w) is folded into that point's weight for this draw and the draw repeated),
which samples the exact policy.  Products of precomputed exp(weights) replace
exp() in the loop.  Playouts use simple ko and forbid suicide, like
``_core.playout``; ``move_probs`` uses the position's full rules.
``rollout_playouts`` spreads a batch over threads that each run the GIL-free
compiled playout (the same parallelism as a ``prange`` kernel, without its long
first compile); playout i seeds its own ``_core.seed_rng`` generator from
(seed, i), so results do not depend on the thread count.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from games.go import _core
from games.go._pool import run_slices
from games.go._core import COLOR, EMPTY, HEAD, KO, LIB_COUNT, LIB_SUM, NEXT, NO_POINT, PASSES, SIZE, TO_MOVE

__all__ = [
    "LAYOUT_VERSION",
    "RolloutPolicy",
    "feature_layout",
    "feature_name",
    "num_features",
    "rollout_playout",
    "rollout_playouts",
]

LAYOUT_VERSION = 1

PAT3_BITS = 20
RESP_BITS = 16
OFF_PAT3 = 0
OFF_RESP = OFF_PAT3 + (1 << PAT3_BITS)
OFF_SAVE = OFF_RESP + (1 << RESP_BITS)
OFF_CAPTURE = OFF_SAVE + 1
OFF_SELF_ATARI = OFF_CAPTURE + 1
OFF_OFFSET = OFF_SELF_ATARI + 1
OFF_DIST3 = OFF_OFFSET + 12
OFF_DIST2ND = OFF_DIST3 + 1
NUM_FEATURES = OFF_DIST2ND + 3
MAX_ACTIVE = 8  # active features per move, at most

NEG = -1.0e30  # score of a move that is not a candidate
_U31 = 1.0 / 2147483648.0

# the 8 neighbours in a fixed order: orthogonal N W E S, then diagonal NW NE SW SE
_NB8 = ((-1, 0), (0, -1), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))
# the 12-point diamond: distance 1 then distance 2
_DIAMOND = ((-1, 0), (0, -1), (0, 1), (1, 0), (-2, 0), (0, -2), (0, 2), (2, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))
_RING3 = ((-3, 0), (0, -3), (0, 3), (3, 0), (-2, -1), (-2, 1), (2, -1), (2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2))
_SYMS = tuple((sr, sc, sw) for sw in (False, True) for sr in (1, -1) for sc in (1, -1))


def num_features(size: int = 19) -> int:
    """Length of the weight vector (the same for every board size)."""
    del size
    return NUM_FEATURES


def feature_layout() -> dict[str, tuple[int, int]]:
    """Feature group name -> (offset, length) in the weight vector."""
    return {
        "pat3": (OFF_PAT3, 1 << PAT3_BITS), "resp": (OFF_RESP, 1 << RESP_BITS), "save_atari": (OFF_SAVE, 1),
        "capture": (OFF_CAPTURE, 1), "self_atari": (OFF_SELF_ATARI, 1), "offset": (OFF_OFFSET, 12),
        "dist3": (OFF_DIST3, 1), "dist2nd": (OFF_DIST2ND, 3),
    }


def feature_name(index: int) -> str:
    """The group of a feature index, e.g. ``"save_atari"`` or ``"resp"``."""
    for name, (off, n) in feature_layout().items():
        if off <= index < off + n:
            return name
    raise IndexError(f"feature index {index} outside [0, {NUM_FEATURES})")


def _perm(offsets) -> np.ndarray:
    """int32 [8, K]: for symmetry t, new slot i holds old slot perm[t, i]."""
    index = {o: i for i, o in enumerate(offsets)}
    out = np.zeros((8, len(offsets)), np.int32)
    for t, (sr, sc, sw) in enumerate(_SYMS):
        for i, (dr, dc) in enumerate(offsets):
            r, c = dr * sr, dc * sc
            if sw:
                r, c = c, r
            out[t, i] = index[(r, c)]
    return out


def _table(size: int, offsets) -> np.ndarray:
    m = size * size
    out = np.full((m, len(offsets)), NO_POINT, np.int32)
    for p in range(m):
        r, c = divmod(p, size)
        for k, (dr, dc) in enumerate(offsets):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                out[p, k] = (r + dr) * size + c + dc
    return out


@njit(cache=True)
def _canon3_table(perm8):
    n = 1 << 20
    out = np.empty(n, np.int32)
    for code in range(n):
        best = code
        for t in range(1, 8):
            x = 0
            for i in range(4):
                x |= ((code >> (3 * perm8[t, i])) & 7) << (3 * i)
            for i in range(4):
                x |= ((code >> (12 + 2 * (perm8[t, 4 + i] - 4))) & 3) << (12 + 2 * i)
            if x < best:
                best = x
        out[code] = best
    return out


@lru_cache(maxsize=None)
def _tables(size: int):
    """(nb8, dia, ring3, canon3, perm12, inv12) for one board size (read-only)."""
    perm8 = _perm(_NB8)
    perm12 = _perm(_DIAMOND)
    inv12 = np.zeros_like(perm12)
    for t in range(8):
        inv12[t, perm12[t]] = np.arange(12, dtype=np.int32)
    canon = _canon3_table(perm8)
    out = (_table(size, _NB8), _table(size, _DIAMOND), _table(size, _RING3), canon, perm12, inv12)
    for a in out:
        a.setflags(write=False)
    return out


# ---- per-point local features ----------------------------------------------------------


@njit(cache=True, inline="always")
def _ortho_state(s, q, c):
    """0 empty, 1 off-board, 2 own, 3 own in atari, 4 opponent, 5 opponent in atari."""
    if q < 0:
        return 1
    cq = s[COLOR, q]
    if cq == EMPTY:
        return 0
    a = 1 if _core.in_atari(s, s[HEAD, q]) else 0
    return (2 if cq == c else 4) + a


@njit(cache=True)
def _local(s, nb8, canon, p, c):
    """(candidate, pat3 index, save, capture) for colour c at empty p, from the 3x3 area.

    candidate: legal under simple-ko-free, no-suicide rules and not c's own eye.
    """
    code = 0
    empties = 0
    own_ok = 0
    own_atari = 0
    capture = 0
    for i in range(4):
        st = _ortho_state(s, nb8[p, i], c)
        code |= st << (3 * i)
        if st == 0:
            empties += 1
        elif st == 2:
            own_ok += 1
        elif st == 3:
            own_atari += 1
        elif st == 5:
            capture = 1
    legal = empties > 0 or own_ok > 0 or capture == 1
    if not legal:
        return False, 0, 0, 0
    own_all = own_ok + own_atari
    offb = 0
    for i in range(4):
        if nb8[p, i] < 0:
            offb += 1
    bad_diag = 0
    ndiag = 0
    for i in range(4):
        q = nb8[p, 4 + i]
        if q < 0:
            st = 1
        else:
            ndiag += 1
            cq = s[COLOR, q]
            if cq == EMPTY:
                st = 0
            elif cq == c:
                st = 2
            else:
                st = 3
                bad_diag += 1
        code |= st << (12 + 2 * i)
    if _core.eye_rule(own_all + offb == 4, ndiag, bad_diag):  # the counts of _core.is_eye, read above
        return False, 0, 0, 0
    save = 1 if own_atari > 0 and (capture == 1 or empties + own_ok >= 2) else 0
    return True, np.int64(canon[code]), save, capture


@njit(cache=True)
def _base_score(s, nb8, canon, w, p, c):
    ok, pat, save, cap = _local(s, nb8, canon, p, c)
    if not ok:
        return NEG
    return np.float64(w[OFF_PAT3 + pat]) + save * np.float64(w[OFF_SAVE]) + cap * np.float64(w[OFF_CAPTURE])


@njit(cache=True)
def _self_atari(s, nbr, num_nbr, p, c):
    """After c plays empty p, its chain has exactly one liberty (the SELF_ATARI feature).

    A capture of two or more stones counts as no self-atari; a single captured
    stone counts as the liberty it leaves.  Not the exact count of the feature
    planes (``games.go.features``), which do call a capture of two or more
    stones that leaves one liberty a self-atari; trained weights depend on this
    definition, so it stays.
    """
    a = -1
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        cq = s[COLOR, q]
        if cq == EMPTY or (cq != c and _core.in_atari(s, s[HEAD, q])):
            if cq != EMPTY and s[SIZE, s[HEAD, q]] >= 2:
                return False
            if a < 0:
                a = q
            elif q != a:
                return False
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] != c:
            continue
        h = s[HEAD, q]
        r = h
        while True:
            for j in range(num_nbr[r]):
                t = nbr[r, j]
                if t != p and s[COLOR, t] == EMPTY:
                    if a < 0:
                        a = t
                    elif t != a:
                        return False
            r = s[NEXT, r]
            if r == h:
                break
    return a >= 0


@njit(cache=True)
def _diamond_codes(s, dia, perm12, c, last, out, digits):
    """out[t] = the diamond code around ``last`` under symmetry t (base 6, slot i = digit i)."""
    for i in range(12):
        digits[i] = _ortho_state(s, dia[last, i], c)
    for t in range(8):
        x = np.int64(0)
        for i in range(11, -1, -1):
            x = x * 6 + digits[perm12[t, i]]
        out[t] = x


@njit(cache=True)
def _resp_index(codes, inv12, k):
    """Feature index of the response pattern: (diamond code, place k), smallest over symmetries."""
    best = np.int64(-1)
    for t in range(8):
        key = codes[t] * 12 + inv12[t, k]
        if best < 0 or key < best:
            best = key
    hsh = np.uint64(best) * np.uint64(0x9E3779B97F4A7C15)
    return OFF_RESP + np.int64(hsh >> np.uint64(64 - RESP_BITS))


@njit(cache=True)
def _min_syms(codes):
    """A bit mask of the symmetries whose code is the smallest."""
    mn = codes[0]
    for t in range(1, 8):
        if codes[t] < mn:
            mn = codes[t]
    mask = 0
    for t in range(8):
        if codes[t] == mn:
            mask |= 1 << t
    return mask


@njit(cache=True, inline="always")
def _resp_index_fast(codes, inv12, mask, k):
    """``_resp_index`` given the mask of symmetries reaching the smallest diamond code."""
    best = np.int64(-1)
    for t in range(8):
        if (mask >> t) & 1:
            key = codes[t] * 12 + inv12[t, k]
            if best < 0 or key < best:
                best = key
    hsh = np.uint64(best) * np.uint64(0x9E3779B97F4A7C15)
    return OFF_RESP + np.int64(hsh >> np.uint64(64 - RESP_BITS))


@njit(cache=True)
def _dist(size, a, b):
    ra = a // size
    rb = b // size
    return abs(ra - rb) + abs((a - ra * size) - (b - rb * size))


@njit(cache=True)
def features(s, nbr, num_nbr, nb8, dia, perm12, inv12, canon, c, last, last2, allowed, cand, feats, nfeat):
    """Exact features of every candidate move of colour c (the slow, obvious path).

    ``allowed`` bool [M]: moves the rules allow (legality is also re-checked
    locally).  Fills ``cand`` [M] with candidate points, ``feats`` [M, MAX_ACTIVE]
    with their active feature indices and ``nfeat`` [M] with their counts;
    returns the number of candidates.
    """
    m = s.shape[1]
    size = np.int64(np.sqrt(m) + 0.5)
    codes = np.empty(8, np.int64)
    digits = np.empty(12, np.int64)
    if last >= 0:
        _diamond_codes(s, dia, perm12, c, last, codes, digits)
    n = 0
    for p in range(m):
        if s[COLOR, p] != EMPTY or not allowed[p]:
            continue
        ok, pat, save, cap = _local(s, nb8, canon, p, c)
        if not ok:
            continue
        cand[n] = p
        f = 0
        feats[n, f] = OFF_PAT3 + pat
        f += 1
        if save:
            feats[n, f] = OFF_SAVE
            f += 1
        if cap:
            feats[n, f] = OFF_CAPTURE
            f += 1
        if _self_atari(s, nbr, num_nbr, p, c):
            feats[n, f] = OFF_SELF_ATARI
            f += 1
        if last >= 0:
            d = _dist(size, p, last)
            if d <= 2:
                for k in range(12):
                    if dia[last, k] == p:
                        feats[n, f] = _resp_index(codes, inv12, k)
                        feats[n, f + 1] = OFF_OFFSET + k
                        f += 2
            elif d == 3:
                feats[n, f] = OFF_DIST3
                f += 1
        if last2 >= 0:
            d = _dist(size, p, last2)
            if 1 <= d <= 3:
                feats[n, f] = OFF_DIST2ND + d - 1
                f += 1
        nfeat[n] = f
        n += 1
    return n


@njit(cache=True)
def scores_of(w, feats, nfeat, n, out):
    for i in range(n):
        x = 0.0
        for j in range(nfeat[i]):
            x += w[feats[i, j]]
        out[i] = x


@njit(cache=True)
def softmax_(x, n):
    mx = -np.inf
    for i in range(n):
        if x[i] > mx:
            mx = x[i]
    tot = 0.0
    for i in range(n):
        x[i] = np.exp(x[i] - mx)
        tot += x[i]
    for i in range(n):
        x[i] /= tot


@njit(cache=True)
def _move_probs(s, g, nbr, num_nbr, nb8, dia, ring3, perm12, inv12, canon, w, last, last2, allowed):
    m = s.shape[1]
    c = g[TO_MOVE]
    cand = np.empty(m, np.int32)
    feats = np.empty((m, MAX_ACTIVE), np.int32)
    nfeat = np.empty(m, np.int32)
    n = features(s, nbr, num_nbr, nb8, dia, perm12, inv12, canon, c, last, last2, allowed, cand, feats, nfeat)
    out = np.zeros(m + 1)
    if n == 0:
        out[m] = 1.0
        return out
    x = np.empty(n)
    scores_of(w, feats, nfeat, n, x)
    softmax_(x, n)
    for i in range(n):
        out[cand[i]] = x[i]
    return out


# ---- the incremental sampler -----------------------------------------------------------


# Sampling weights are summed in blocks of 16 points (p >> 4): exact block sums kept by
# differences, a draw walks the block sums and then one block.
BLOCK_SHIFT = 4
BLOCK = 1 << BLOCK_SHIFT


@njit(cache=True, inline="always")
def _set_weight(wts, rows, col, p, x, size):
    rows[col, p >> BLOCK_SHIFT] += x - wts[col, p]
    wts[col, p] = x


@njit(cache=True)
def _resum_row(wts, rows, col, r, size):
    tot = 0.0
    for i in range(r * BLOCK, min(r * BLOCK + BLOCK, wts.shape[1])):
        tot += wts[col, i]
    rows[col, r] = tot


@njit(cache=True)
def _side_score(canon, ew, code, empties, own_ok, own_atari, capture, offb, ndiag, bad_diag):
    """exp(cached score) of one side at a point (0 for a non-candidate); ew = exp(weights)."""
    legal = empties > 0 or own_ok > 0 or capture
    if not legal:
        return 0.0
    if _core.eye_rule(own_ok + own_atari + offb == 4, ndiag, bad_diag):  # _core.is_eye's rule
        return 0.0
    x = ew[OFF_PAT3 + canon[code]]
    if capture:
        x *= ew[OFF_CAPTURE]
    if own_atari > 0 and (capture or empties + own_ok >= 2):
        x *= ew[OFF_SAVE]
    return x


@njit(cache=True)
def _base_scores_both(s, nb8, canon, ew, p):
    """(black's, white's) exp(``_base_score``) of empty p, in one read of its 3x3 area."""
    code_b = 0
    code_w = 0
    empties = 0
    offb = 0
    b_ok = 0
    b_at = 0
    w_ok = 0
    w_at = 0
    for i in range(4):
        q = nb8[p, i]
        if q < 0:
            sb = 1
            sw = 1
            offb += 1
        else:
            cq = s[COLOR, q]
            if cq == EMPTY:
                sb = 0
                sw = 0
                empties += 1
            else:
                a = 1 if _core.in_atari(s, s[HEAD, q]) else 0
                if cq == 1:
                    sb = 2 + a
                    sw = 4 + a
                    if a:
                        b_at += 1
                    else:
                        b_ok += 1
                else:
                    sb = 4 + a
                    sw = 2 + a
                    if a:
                        w_at += 1
                    else:
                        w_ok += 1
        code_b |= sb << (3 * i)
        code_w |= sw << (3 * i)
    ndiag = 0
    d_b = 0
    d_w = 0
    for i in range(4):
        q = nb8[p, 4 + i]
        if q < 0:
            sb = 1
            sw = 1
        else:
            ndiag += 1
            cq = s[COLOR, q]
            if cq == EMPTY:
                sb = 0
                sw = 0
            elif cq == 1:
                sb = 2
                sw = 3
                d_b += 1
            else:
                sb = 3
                sw = 2
                d_w += 1
        code_b |= sb << (12 + 2 * i)
        code_w |= sw << (12 + 2 * i)
    xb = _side_score(canon, ew, code_b, empties, b_ok, b_at, w_at > 0, offb, ndiag, d_w)
    xw = _side_score(canon, ew, code_w, empties, w_ok, w_at, b_at > 0, offb, ndiag, d_b)
    return xb, xw


@njit(cache=True)
def _refresh(s, nb8, canon, ew, base, wts, rows, p, size):
    if s[COLOR, p] == EMPTY:
        xb, xw = _base_scores_both(s, nb8, canon, ew, p)
    else:
        xb = 0.0
        xw = 0.0
    base[0, p] = xb
    _set_weight(wts, rows, 0, p, xb, size)
    base[1, p] = xw
    _set_weight(wts, rows, 1, p, xw, size)


@njit(cache=True)
def _init_cache(s, nb8, canon, ew, base, wts, rows, size):
    m = s.shape[1]
    for p in range(m):
        if s[COLOR, p] == EMPTY:
            xb, xw = _base_scores_both(s, nb8, canon, ew, p)
        else:
            xb = 0.0
            xw = 0.0
        base[0, p] = xb
        base[1, p] = xw
    for col in range(2):
        for p in range(m):
            wts[col, p] = base[col, p]
        for r in range(rows.shape[1]):
            tot = 0.0
            for i in range(r * BLOCK, min(r * BLOCK + BLOCK, m)):
                tot += wts[col, i]
            rows[col, r] = tot


@njit(cache=True, inline="always")
def _touch(q, factor, touched, ntouch, tmul, tflag):
    if not tflag[q]:
        tflag[q] = True
        touched[ntouch] = q
        ntouch += 1
    tmul[q] *= factor
    return ntouch


@njit(cache=True)
def _draw(wts, rows, col, size, rng):
    """A point drawn with probability wts[col, p] / total (-1 when all are 0).

    Block sums are kept by adding differences; a block whose sum has drifted
    away from its points (found empty while drawing) is summed afresh and the
    draw repeated, so rounding never picks a dead point.
    """
    m = wts.shape[1]
    nb = rows.shape[1]
    while True:
        tot = 0.0
        for r in range(nb):
            if rows[col, r] < 1e-300:
                rows[col, r] = 0.0
            tot += rows[col, r]
        if not tot > 0.0:
            for r in range(nb):  # all blocks say zero: make sure, then give up
                _resum_row(wts, rows, col, r, size)
                tot += rows[col, r]
            if not tot > 0.0:
                return -1
        u = _core.rand_below(rng, 2147483648) * _U31 * tot
        r = 0
        while r < nb - 1 and u >= rows[col, r]:
            u -= rows[col, r]
            r += 1
        last_nz = -1
        for i in range(r * BLOCK, min(r * BLOCK + BLOCK, m)):
            x = wts[col, i]
            if x > 0.0:
                last_nz = i
                if u < x:
                    return i
                u -= x
        if last_nz >= 0 and u < 1e-9 * tot:
            return last_nz  # rounding at the end of the block
        _resum_row(wts, rows, col, r, size)


@njit(cache=True)
def _choose(s, g, nbr, num_nbr, dia, ring3, perm12, inv12, ew, base, wts, rows, last, last2, rng,
            touched, tmul, tflag, codes):
    """Draw the next move of the side to move from the cache (PASS when none)."""
    m = s.shape[1]
    size = np.int64(np.sqrt(m) + 0.5)
    c = g[TO_MOVE]
    col = c - 1
    nt = 0
    if last >= 0:
        _diamond_codes(s, dia, perm12, c, last, codes[:8], codes[8:])
        mask = _min_syms(codes)
        for k in range(12):
            q = dia[last, k]
            if q >= 0 and base[col, q] > 0.0:
                f = ew[_resp_index_fast(codes, inv12, mask, k)] * ew[OFF_OFFSET + k]
                nt = _touch(q, f, touched, nt, tmul, tflag)
        for k in range(12):
            q = ring3[last, k]
            if q >= 0 and base[col, q] > 0.0:
                nt = _touch(q, ew[OFF_DIST3], touched, nt, tmul, tflag)
    if last2 >= 0:
        for k in range(12):
            q = dia[last2, k]
            if q >= 0 and base[col, q] > 0.0:
                nt = _touch(q, ew[OFF_DIST2ND + (0 if k < 4 else 1)], touched, nt, tmul, tflag)
        for k in range(12):
            q = ring3[last2, k]
            if q >= 0 and base[col, q] > 0.0:
                nt = _touch(q, ew[OFF_DIST2ND + 2], touched, nt, tmul, tflag)
    for i in range(nt):
        q = touched[i]
        _set_weight(wts, rows, col, q, base[col, q] * tmul[q], size)
    ko = g[KO]
    if ko >= 0 and base[col, ko] > 0.0:
        if not tflag[ko]:
            tflag[ko] = True
            touched[nt] = ko
            nt += 1
        _set_weight(wts, rows, col, ko, 0.0, size)
    # self-atari by rejection (accept with probability exp(w) <= 1, else fold exp(w) into
    # the point's weight for this draw and mark it corrected with tmul < 0)
    acc = ew[OFF_SELF_ATARI]
    move = m
    while True:
        p = _draw(wts, rows, col, size, rng)
        if p < 0:
            break
        if tflag[p] and tmul[p] < 0.0:  # already corrected this draw: exact
            move = p
            break
        if not _self_atari(s, nbr, num_nbr, p, c):
            move = p
            break
        if _core.rand_below(rng, 2147483648) * _U31 < acc:
            move = p
            break
        if not tflag[p]:
            tflag[p] = True
            touched[nt] = p
            nt += 1
            tmul[p] = 1.0
        _set_weight(wts, rows, col, p, base[col, p] * tmul[p] * acc, size)
        tmul[p] = -1.0  # mark: corrected
    for i in range(nt):
        q = touched[i]
        tflag[q] = False
        tmul[q] = 1.0
        _set_weight(wts, rows, col, q, base[col, q], size)
    return move


@njit(cache=True)
def _mark(q, dirty, ndirty, stamp, epoch):
    if q >= 0 and stamp[q] != epoch:
        stamp[q] = epoch
        dirty[ndirty] = q
        ndirty += 1
    return ndirty


@njit(cache=True)
def _atari_lib(s, h):
    """The one liberty of a chain in atari (all its pseudo-liberties are that point)."""
    return s[LIB_SUM, h] // s[LIB_COUNT, h]


@njit(cache=True)
def _play_update(s, g, nbr, num_nbr, zob, nb8, canon, ew, base, wts, rows, p, dirty, stamp, epoch, caps):
    """Play stone p for the side to move and refresh the cache where it changed."""
    m = s.shape[1]
    size = np.int64(np.sqrt(m) + 0.5)
    c = g[TO_MOVE]
    opp = 3 - c
    nd = 0
    ncap = 0
    # before the move: stones about to be captured, and the liberty of each own chain in atari next to them
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] == opp and _core.in_atari(s, s[HEAD, q]):
            h = s[HEAD, q]
            if stamp[h] == -epoch:  # chain already listed
                continue
            stamp[h] = -epoch
            r = h
            while True:
                caps[ncap] = r
                ncap += 1
                for j in range(num_nbr[r]):
                    t = nbr[r, j]
                    if s[COLOR, t] == c and _core.in_atari(s, s[HEAD, t]):
                        nd = _mark(np.int64(_atari_lib(s, s[HEAD, t])), dirty, nd, stamp, epoch)
                r = s[NEXT, r]
                if r == h:
                    break
    _core.place(s, g, nbr, num_nbr, zob, p, c)
    nd = _mark(np.int64(p), dirty, nd, stamp, epoch)
    for k in range(8):
        nd = _mark(np.int64(nb8[p, k]), dirty, nd, stamp, epoch)
    for i in range(ncap):
        r = caps[i]
        nd = _mark(np.int64(r), dirty, nd, stamp, epoch)
        for k in range(8):
            nd = _mark(np.int64(nb8[r, k]), dirty, nd, stamp, epoch)
    hp = s[HEAD, p]
    if _core.in_atari(s, hp):
        nd = _mark(np.int64(_atari_lib(s, hp)), dirty, nd, stamp, epoch)
    for k in range(num_nbr[p]):
        q = nbr[p, k]
        if s[COLOR, q] == opp and _core.in_atari(s, s[HEAD, q]):
            nd = _mark(np.int64(_atari_lib(s, s[HEAD, q])), dirty, nd, stamp, epoch)
    for i in range(nd):
        _refresh(s, nb8, canon, ew, base, wts, rows, dirty[i], size)


@njit(cache=True)
def _verify(s, nb8, canon, w, base):
    """Cached weights that differ from exp(a fresh ``_base_score``) (for tests)."""
    bad = 0
    for col in range(2):
        for p in range(s.shape[1]):
            sc = _base_score(s, nb8, canon, w, p, col + 1) if s[COLOR, p] == EMPTY else NEG
            x = np.exp(sc) if sc > 0.5 * NEG else 0.0
            if abs(x - base[col, p]) > 1e-9 * max(x, 1e-300):
                bad += 1
    return bad


@njit(cache=True, nogil=True)
def _playout(s, g, nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12, canon, w, ew, last, last2, rng, max_moves,
             verify, record, num_draws=0):
    """Rollout-policy playout in place; returns (score, moves, cache mismatches).

    ``record`` receives the moves played (as far as it reaches).  With
    ``num_draws`` > 0 nothing is played: ``record[:num_draws]`` receives that many
    independent draws of the first move (for tests of the sampler).
    """
    m = s.shape[1]
    size = np.int64(np.sqrt(m) + 0.5)
    base = np.empty((2, m))
    wts = np.empty((2, m))
    rows = np.empty((2, (m + BLOCK - 1) >> BLOCK_SHIFT))
    touched = np.empty(m + 1, np.int32)
    tmul = np.ones(m)
    tflag = np.zeros(m, np.bool_)
    codes = np.empty(20, np.int64)
    dirty = np.empty(m, np.int32)
    stamp = np.zeros(m, np.int64)
    caps = np.empty(m, np.int32)
    _init_cache(s, nb8, canon, ew, base, wts, rows, size)
    for i in range(num_draws):
        record[i] = _choose(s, g, nbr, num_nbr, dia, ring3, perm12, inv12, ew, base, wts, rows, last, last2, rng,
                            touched, tmul, tflag, codes)
    if num_draws > 0:
        return 0, 0, 0
    moves = 0
    bad = 0
    g[PASSES] = 0  # the playout's own passes end it, not the game's: from a finished game it plays on
    while moves < max_moves and g[PASSES] < 2:
        p = _choose(s, g, nbr, num_nbr, dia, ring3, perm12, inv12, ew, base, wts, rows, last, last2, rng,
                    touched, tmul, tflag, codes)
        if record.shape[0] > moves:
            record[moves] = p
        if p == m:
            _core._move(s, g, nbr, num_nbr, zob, p, g[TO_MOVE])
            p = -1
        else:
            _play_update(s, g, nbr, num_nbr, zob, nb8, canon, ew, base, wts, rows, p, dirty, stamp, moves + 1, caps)
        last2 = last
        last = p
        moves += 1
        if verify:
            bad += _verify(s, nb8, canon, w, base)
    return _core.area_score(s), moves, bad


@njit(cache=True)
def rollout_playout(s, g, nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12, canon, w, ew, last, last2, rng,
                    max_moves):
    """One rollout-policy playout in place from (s, g) to two passes (of the playout: it starts with
    ``g[PASSES]`` at 0, so it plays on from a finished game) or ``max_moves``.

    ``w``: the float32 weights, ``ew``: float64 exp(w) (``RolloutPolicy.exp_weights``);
    ``last``/``last2``: the previous two moves (-1 for none or a pass).  Returns
    (black-minus-white Tromp-Taylor area, moves played), like ``_core.playout``.
    """
    sc, mv, _ = _playout(s, g, nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12, canon, w, ew, last, last2, rng,
                         max_moves, False, np.empty(0, np.int32), 0)
    return sc, mv


def rollout_playouts(s, g, nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12, canon, w, ew, last, last2, seed,
                     num_playouts, max_moves, num_threads=None):
    """``num_playouts`` independent playouts from (s, g) (left unchanged), spread over
    ``num_threads`` threads (default ``numba.get_num_threads()``) each running the
    GIL-free compiled playout.  Playout i seeds its own generator from (seed, i), so the results
    do not depend on the thread count.  Returns (scores int32 [n], total moves).

    Threads instead of ``prange``: the same parallelism without the long
    first-call compile of a ``parallel=True`` kernel.
    """
    import numba

    n = int(num_playouts)
    scores = np.empty(n, np.int32)
    moves = np.zeros(n, np.int64)
    k = max(1, min(n, int(num_threads or numba.get_num_threads())))
    none = np.empty(0, np.int32)

    def run(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            rng = _core.seed_rng(int(seed) * 1000003 + i)
            sc, mv, _ = _playout(s.copy(), g.copy(), nbr, num_nbr, zob, nb8, dia, ring3, perm12, inv12, canon, w, ew,
                                 int(last), int(last2), rng, int(max_moves), False, none, 0)
            scores[i] = sc
            moves[i] = mv

    run_slices(run, n, k)
    return scores, int(moves.sum())


# ---- Python API --------------------------------------------------------------------------


def _last_moves(position) -> tuple[int, int]:
    """(last, last2) of a Position (``last_move``, ``previous_move``, which in-place play keeps
    too): flat points, -1 for none or a pass."""
    m = position.size * position.size

    def pt(x):
        return -1 if x is None or x < 0 or x >= m else int(x)

    return pt(position.last_move), pt(position.previous_move)


class RolloutPolicy:
    """The rollout softmax with weights ``w`` (float32 [num_features()]) on ``size`` x ``size`` boards."""

    def __init__(self, weights: np.ndarray, size: int):
        w = np.ascontiguousarray(weights, dtype=np.float32)
        if w.shape != (NUM_FEATURES,):
            raise ValueError(f"rollout weights must have shape ({NUM_FEATURES},), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("rollout weights must be finite")
        if np.abs(w).max() > 60.0:
            raise ValueError(f"rollout weights must lie in [-60, 60], got one of {np.abs(w).max():.3g}")
        if w[OFF_SELF_ATARI] > 0:
            raise ValueError(f"the self-atari weight must be <= 0, got {w[OFF_SELF_ATARI]}")
        self.weights = w
        self.exp_weights = np.exp(w.astype(np.float64))  # the playout sampler works with products of these
        self.size = int(size)
        self._geo = _core.geometry(self.size)
        self._tab = _tables(self.size)

    def _check(self, position) -> None:
        if position.size != self.size:
            raise ValueError(f"position is {position.size}x{position.size} but the policy is for {self.size}")

    def _args(self, position):
        geo = self._geo
        nb8, dia, ring3, canon, perm12, inv12 = self._tab
        return geo.nbr, geo.num_nbr, geo.zob, nb8, dia, ring3, perm12, inv12, canon, self.weights, self.exp_weights

    def move_probs(self, position) -> np.ndarray:
        """float64 [N*N + 1]: the policy over moves (pass last) under the position's full rules."""
        self._check(position)
        geo = self._geo
        nb8, dia, ring3, canon, perm12, inv12 = self._tab
        allowed = position.legal_mask()[:-1]
        last, last2 = _last_moves(position)
        return _move_probs(position._s, position._g, geo.nbr, geo.num_nbr, nb8, dia, ring3, perm12, inv12, canon,
                           self.weights, last, last2, allowed)

    def active_features(self, position) -> dict[int, list[int]]:
        """Candidate move -> its active feature indices (see ``feature_name``), under full rules."""
        self._check(position)
        geo = self._geo
        nb8, dia, ring3, canon, perm12, inv12 = self._tab
        m = self.size * self.size
        allowed = position.legal_mask()[:-1]
        last, last2 = _last_moves(position)
        cand = np.empty(m, np.int32)
        feats = np.empty((m, MAX_ACTIVE), np.int32)
        nfeat = np.empty(m, np.int32)
        n = features(position._s, geo.nbr, geo.num_nbr, nb8, dia, perm12, inv12, canon, position.to_move, last, last2,
                     allowed, cand, feats, nfeat)
        return {int(cand[i]): sorted(int(f) for f in feats[i, :nfeat[i]]) for i in range(n)}

    def sample(self, position, rng) -> int:
        """One move drawn from ``move_probs`` with ``rng`` (a numpy Generator or a ``_core.seed_rng`` state)."""
        probs = self.move_probs(position)
        if isinstance(rng, np.random.Generator):
            return int(rng.choice(probs.shape[0], p=probs / probs.sum()))
        u = _core.rand_below(rng, 2147483648) * _U31
        idx = int(np.searchsorted(np.cumsum(probs), u * probs.sum(), side="right"))
        idx = min(idx, probs.shape[0] - 1)
        while probs[idx] == 0:  # rounding at the very top
            idx -= 1
        return idx

    def sample_fast(self, position, rng, num: int = 1) -> np.ndarray:
        """``num`` moves drawn by the compiled playout sampler (simple ko) from ``position``."""
        self._check(position)
        last, last2 = _last_moves(position)
        out = np.empty(int(num), np.int32)
        _playout(position._s.copy(), position._g.copy(), *self._args(position), last, last2, rng, 0, False, out,
                 int(num))
        return out

    def playout(self, position, rng, max_moves: int | None = None, *, verify: bool = False):
        """One playout from ``position`` (left unchanged).  Returns (score, moves, final (s, g), record);
        with ``verify`` also checks the incremental cache after every move (the third value is then
        (s, g, mismatches))."""
        self._check(position)
        last, last2 = _last_moves(position)
        s, g = position._s.copy(), position._g.copy()
        cap = max_moves if max_moves is not None else 3 * self.size * self.size
        record = np.full(cap, -1, np.int32)
        sc, mv, bad = _playout(s, g, *self._args(position), last, last2, rng, int(cap), bool(verify), record, 0)
        return int(sc), int(mv), (s, g, int(bad)), record[:mv]

    def playouts(self, position, n: int, seed: int = 0, max_moves: int | None = None, *,
                 num_threads: int | None = None) -> tuple[np.ndarray, int]:
        """``n`` playouts (``numba.get_num_threads()`` threads by default).

        Returns (black-minus-white area scores int32 [n], total moves).
        """
        self._check(position)
        last, last2 = _last_moves(position)
        cap = max_moves if max_moves is not None else 3 * self.size * self.size
        return rollout_playouts(position._s, position._g, *self._args(position), last, last2, int(seed), int(n),
                                int(cap), num_threads=num_threads)
