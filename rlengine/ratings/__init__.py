"""Ratings: Bradley-Terry maximum likelihood on the Elo scale with 95% intervals, SPRT gating, and the
SQLite results database of tournaments."""

from rlengine.ratings._bt import (ELO, PlayerRating, Ratings, RatingsError, expected_score, fit_ratings,
                                  score_matrix)
from rlengine.ratings._collect import Result, ResultSet, connected, rate, read_results
from rlengine.ratings._db import APPLICATION_ID, DatabaseError, GameRow, ResultsDB, result_reason, result_winner
from rlengine.ratings._sprt import SPRT, parse_sprt

__all__ = ["APPLICATION_ID", "DatabaseError", "ELO", "GameRow", "PlayerRating", "Ratings", "RatingsError", "Result",
           "ResultSet", "ResultsDB", "SPRT", "connected", "expected_score", "fit_ratings", "format_table", "parse_sprt",
           "rate", "read_results", "result_reason", "result_winner", "score_matrix"]


def format_table(ratings: Ratings) -> str:
    """The ratings as a text table, strongest first: player, Elo, 95% interval, games, score."""
    rows = sorted(ratings.players, key=lambda p: -p.elo)
    width = max(6, *(len(p.name) for p in rows))

    def bound(x, sign):
        return f"{sign}inf" if x is None else f"{x:.0f}"

    lines = [f"{'player':<{width}}  {'elo':>7}  {'95% interval':>17}  {'games':>6}  {'score':>7}"]
    for p in rows:
        lo, hi = p.ci95
        interval = f"[{bound(lo, '-')}, {bound(hi, '+')}]"
        lines.append(f"{p.name:<{width}}  {p.elo:>7.0f}  {interval:>17}  {p.games:>6}  {p.score:>7.1f}")
    method = {"hessian": "Wald intervals from the Hessian", "bootstrap": "bootstrap percentile intervals"}
    lines.append(f"anchor {ratings.anchor} = {ratings.anchor_elo:g}; {ratings.games} games; "
                 f"{method[ratings.method]}"
                 + (f"; {ratings.virtual_draws} pairing(s) got a virtual draw (no finite maximum-likelihood "
                    f"estimate)" if ratings.virtual_draws else ""))
    return "\n".join(lines)
