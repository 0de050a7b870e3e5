"""Bradley-Terry ratings on the Elo scale: maximum likelihood, an anchor, 95% intervals.

Model: player i scores against player j with probability ``1 / (1 + 10**((R_j - R_i) / 400))``.  A draw
counts as half a win for each side.  The estimate maximises the likelihood of the scores over all
games; one player (the anchor) is held at a fixed rating, so every rating and interval is a difference
from the anchor.

- **Solver.** Games are first reduced to a score matrix (``S[i, j]``: points i took from j; ``N[i, j]``:
  games between them), so the fit costs the same for 100 or 100,000 games.  Newton's method on the
  concave log-likelihood, with step halving; it stops when the largest step is below 1e-9 Elo.
- **When the maximum-likelihood estimate does not exist.**  If some group of players took every point
  (or none) from the others, their ratings run to infinity.  Each pairing *between* two such groups
  (the strongly connected components of the graph "i took points from j") then gets one virtual draw,
  which gives a finite estimate (10-0 becomes 10.5-0.5: about +529 Elo) and leaves the rest of the
  fit as it was.  The interval of such a player is reported *open* on the unbounded side
  (``None``, printed as +inf/-inf): i is unbounded above when the anchor cannot reach i along "took
  points from" edges, and below when i cannot reach the anchor.
- **Intervals** (``ci="hessian"``, the default): Wald intervals from the inverse of the observed
  information at the estimate (the anchor's row and column removed); ``ci="bootstrap"``: a parametric
  bootstrap, percentile intervals over ``num_bootstrap`` refits to tournaments simulated game by game:
  each game is played again, won with its pairing's observed score share, or, for a pairing at a
  perfect (or zero) score, with the probability of the fit (virtual draws included), and each refit
  gets its own virtual draws.  Resampling the games themselves collapses at a perfect score: every
  resample of 10-0 is 10-0 again, and the interval shrank to the estimate ((528.9, open) at 10-0,
  covering a true +400 in 0.595 of cases; this covers it in about 0.97).
  Tests check the coverage of both on simulated tournaments, a perfect score included.
- Players not connected to the anchor by any chain of games cannot be rated against it: that is an
  error naming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ELO", "PlayerRating", "Ratings", "RatingsError", "expected_score", "fit_ratings", "score_matrix"]

ELO = 400.0 / math.log(10.0)  # Elo points per natural-log unit of odds
Z95 = 1.959964


class RatingsError(ValueError):
    """Games that cannot be rated: fewer than two players, an unknown anchor, players not connected."""


def expected_score(elo_diff: float | np.ndarray) -> float | np.ndarray:
    """Expected score of a player ``elo_diff`` Elo above its opponent."""
    return 1.0 / (1.0 + 10.0 ** (-np.asarray(elo_diff, dtype=np.float64) / 400.0))


@dataclass(frozen=True)
class PlayerRating:
    name: str
    elo: float
    ci95: tuple[float | None, float | None]  # None: open-ended on that side
    games: int
    score: float  # points taken (a draw is 0.5)

    def as_dict(self) -> dict:
        return {"elo": round(self.elo, 1),
                "ci95": [None if x is None else round(x, 1) for x in self.ci95],
                "games": self.games, "score": self.score}


@dataclass(frozen=True)
class Ratings:
    players: list[PlayerRating]  # in the order of ``names`` given to fit_ratings
    anchor: str
    anchor_elo: float
    games: int
    method: str  # "hessian" | "bootstrap"
    virtual_draws: int = 0  # pairings that got a virtual draw (no maximum-likelihood estimate)
    cov: np.ndarray | None = field(default=None, repr=False)  # [P, P] Elo^2 (hessian method)

    def __getitem__(self, name: str) -> PlayerRating:
        for p in self.players:
            if p.name == name:
                return p
        raise KeyError(name)

    def as_dict(self) -> dict:
        return {"players": {p.name: p.as_dict() for p in self.players}, "games": self.games,
                "anchor": self.anchor}


def score_matrix(i: np.ndarray, j: np.ndarray, score: np.ndarray, num_players: int,
                 weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(S, N), float64 [P, P]: points player a took from b, and games between a and b, from games
    ``i`` vs ``j`` with ``score`` the points of ``i`` (1, 0.5 or 0); ``weights``: copies of each game."""
    i = np.asarray(i, np.int64)
    j = np.asarray(j, np.int64)
    s = np.asarray(score, np.float64)
    w = np.ones_like(s) if weights is None else np.asarray(weights, np.float64)
    p = num_players
    flat_ij = i * p + j
    flat_ji = j * p + i
    S = (np.bincount(flat_ij, w * s, p * p) + np.bincount(flat_ji, w * (1.0 - s), p * p)).reshape(p, p)
    N = np.bincount(flat_ij, w, p * p).reshape(p, p)
    return S, N + N.T


def _components(adj: np.ndarray) -> np.ndarray:
    """Component label per node of the undirected graph ``adj`` (bool [P, P])."""
    p = len(adj)
    label = -np.ones(p, np.int64)
    for start in range(p):
        if label[start] >= 0:
            continue
        label[start] = start
        stack = [start]
        while stack:
            a = stack.pop()
            for b in np.flatnonzero(adj[a] & (label < 0)):
                label[b] = start
                stack.append(b)
    return label


def _reach(adj: np.ndarray) -> np.ndarray:
    """bool [P, P]: b is reachable from a along directed edges (a itself included)."""
    r = adj | np.eye(len(adj), dtype=bool)
    while True:  # repeated squaring of the boolean matrix: log2(P) products
        nxt = (r.astype(np.float32) @ r.astype(np.float32)) > 0
        if (nxt == r).all():
            return r
        r = nxt


def _newton(S: np.ndarray, N: np.ndarray, anchor: int, start: np.ndarray | None = None,
            tol: float = 1e-9 / ELO, max_iter: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood strengths (natural-log units, anchor at 0) and the observed information with
    the anchor's row and column removed."""
    p = len(S)
    keep = np.arange(p) != anchor
    r = np.zeros(p) if start is None else start - start[anchor]

    def loglik(x: np.ndarray) -> float:
        d = x[:, None] - x[None, :]
        return float((S * -np.logaddexp(0.0, -d)).sum())

    ll = loglik(r)
    info = None
    for _ in range(max_iter):
        d = r[:, None] - r[None, :]
        prob = 1.0 / (1.0 + np.exp(-d))  # [P, P] P(i beats j)
        grad = (S - N * prob).sum(1)  # points taken minus expected
        w = N * prob * (1.0 - prob)
        info = np.diag(w.sum(1)) - w  # observed information (the Laplacian of w)
        sub = info[np.ix_(keep, keep)]
        step = np.zeros(p)
        step[keep] = np.linalg.solve(sub, grad[keep])
        t = 1.0
        while True:
            cand = r + t * step
            new = loglik(cand)
            if new >= ll - 1e-12 or t < 1e-6:
                break
            t *= 0.5
        r, ll = cand, new
        if np.abs(t * step).max() < tol:
            break
    d = r[:, None] - r[None, :]
    prob = 1.0 / (1.0 + np.exp(-d))
    w = N * prob * (1.0 - prob)
    info = np.diag(w.sum(1)) - w
    return r, info[np.ix_(keep, keep)]


def _regularise(S: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(S, N) with one virtual draw on every played pairing between different strongly connected
    components of "took points from"; the number of such pairings; the reachability matrix."""
    edge = S > 0
    reach = _reach(edge)
    strong = reach & reach.T  # same strongly connected component
    cross = (N > 0) & ~strong
    if cross.any():
        S = S + 0.5 * cross
        N = N + 1.0 * cross
    return S, N, int(cross.sum() // 2), reach


def fit_ratings(names: list[str], i, j, score, *, anchor: str | None = None, anchor_elo: float = 0.0,
                ci: str = "hessian", num_bootstrap: int = 200, seed: int = 0) -> Ratings:
    """Rate ``names`` from games ``i[k]`` vs ``j[k]`` (indices into ``names``), ``score[k]`` the points of
    ``i[k]`` (1 win, 0.5 draw, 0 loss).  ``anchor`` (default the first name) is held at ``anchor_elo``."""
    if ci not in ("hessian", "bootstrap"):
        raise ValueError(f"ci must be hessian or bootstrap, got {ci!r}")
    p = len(names)
    if len(set(names)) != p:
        raise RatingsError("player names must be unique")
    if p < 2:
        raise RatingsError(f"need at least two players to rate, got {p}: {names}")
    i = np.asarray(i, np.int64)
    j = np.asarray(j, np.int64)
    score = np.asarray(score, np.float64)
    if not (len(i) == len(j) == len(score)):
        raise ValueError("i, j and score must have the same length")
    if len(i) and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= p or (i == j).any()):
        raise ValueError("game indices must name two different players in range")
    if not np.isin(score, (0.0, 0.5, 1.0)).all():
        raise ValueError("scores must be 0, 0.5 or 1")
    anchor = names[0] if anchor is None else anchor
    if anchor not in names:
        raise RatingsError(f"anchor {anchor!r} is not a player; players: {', '.join(names)}")
    a = names.index(anchor)
    S, N = score_matrix(i, j, score, p)
    comp = _components(N > 0)
    lost = [names[k] for k in range(p) if comp[k] != comp[a]]
    if lost:
        raise RatingsError(f"{len(lost)} player(s) have no chain of games to the anchor {anchor!r}, so they "
                           f"cannot be rated against it: {', '.join(lost[:10])}{' ...' if len(lost) > 10 else ''}")
    S_fit, N_fit, num_virtual, reach = _regularise(S, N)
    r, info = _newton(S_fit, N_fit, a)
    elo = r * ELO + anchor_elo
    keep = np.arange(p) != a
    cov = None
    lo = np.full(p, anchor_elo)
    hi = np.full(p, anchor_elo)
    if ci == "hessian":
        cov_sub = np.linalg.inv(info) * ELO * ELO
        cov = np.zeros((p, p))
        cov[np.ix_(keep, keep)] = cov_sub
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        lo, hi = elo - Z95 * se, elo + Z95 * se
    else:
        rng = np.random.default_rng(seed)
        share = np.divide(S, N, out=np.full_like(S, 0.5), where=N > 0)  # [P, P] points a took from b per game
        fitted = 1.0 / (1.0 + np.exp(-(r[:, None] - r[None, :])))  # [P, P] the model's P(a beats b)
        win = np.where((share > 0) & (share < 1), share, fitted)[i, j]  # [G] P(i beats j) to simulate from
        draws = np.empty((num_bootstrap, p))
        for b in range(num_bootstrap):
            sim = (rng.random(len(i)) < win).astype(np.float64)  # [G] every game played again from the model
            Sb, Nb = score_matrix(i, j, sim, p)
            Sb, Nb, _, _ = _regularise(Sb, Nb)
            rb, _ = _newton(Sb, Nb, a, start=r)
            draws[b] = rb * ELO + anchor_elo
        lo, hi = np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0)
    games = N.sum(1).astype(np.int64)
    points = S.sum(1)
    out = []
    for k in range(p):
        low = None if (k != a and not reach[k, a]) else float(lo[k])  # k never reaches the anchor: no lower bound
        high = None if (k != a and not reach[a, k]) else float(hi[k])  # the anchor never reaches k: no upper bound
        out.append(PlayerRating(names[k], float(elo[k]), (low, high), int(games[k]), float(points[k])))
    return Ratings(out, anchor, anchor_elo, int(len(i)), ci, num_virtual, cov)
