"""SPRT: measured error rates on simulated games, and the option parser."""

from __future__ import annotations

import numpy as np
import pytest

from rlengine.ratings import SPRT, expected_score, parse_sprt


def _decisions(test: SPRT, true_elo: float, runs: int, seed: int, max_games: int = 4000) -> np.ndarray:
    """The decision of ``runs`` simulated tests (1 pass, -1 fail, 0 undecided) with Bernoulli games
    won with the probability ``true_elo`` gives."""
    rng = np.random.default_rng(seed)
    wins = rng.random((runs, max_games)) < expected_score(true_elo)
    w = np.cumsum(wins, 1)
    n = np.arange(1, max_games + 1)
    llr = test.llr(w, 0, n - w)
    lower, upper = test.bounds
    hit_up = np.where((llr >= upper).any(1), (llr >= upper).argmax(1), max_games)
    hit_lo = np.where((llr <= lower).any(1), (llr <= lower).argmax(1), max_games)
    return np.where(hit_up < hit_lo, 1, np.where(hit_lo < hit_up, -1, 0))


@pytest.mark.parametrize("alpha,beta", [(0.05, 0.05), (0.1, 0.2)])
def test_error_rates_match_alpha_and_beta(alpha, beta):
    test = SPRT(elo0=0, elo1=35, alpha=alpha, beta=beta)
    at_h0 = _decisions(test, 0.0, 2000, seed=1)
    at_h1 = _decisions(test, 35.0, 2000, seed=2)
    assert (at_h0 == 0).mean() < 0.01 and (at_h1 == 0).mean() < 0.01  # nearly all decide within the cap
    false_pass = (at_h0 == 1).mean()
    false_fail = (at_h1 == -1).mean()
    # Wald: the rates are near alpha and beta, at most about alpha / (1 - beta) and beta / (1 - alpha)
    assert 0.5 * alpha <= false_pass <= alpha / (1 - beta) + 0.015, false_pass
    assert 0.5 * beta <= false_fail <= beta / (1 - alpha) + 0.02, false_fail
    # and a clearly stronger candidate passes almost always
    assert (_decisions(test, 100.0, 500, seed=3) == 1).mean() > 0.99


def test_run_reports_llr_bounds_and_decision():
    test = SPRT(elo0=0, elo1=100)
    out = test.run([1.0] * 100)
    assert out["decision"] == "pass" and out["games"] < 100 and out["llr"] >= out["bounds"][1]
    out = test.run([0.0] * 100)
    assert out["decision"] == "fail" and out["llr"] <= out["bounds"][0]
    out = test.run([1.0, 0.0] * 3)
    assert out["decision"] == "inconclusive" and out["games"] == 6
    assert test.llr(1, 2, 1) == pytest.approx(test.llr(2, 0, 2))  # a draw is half a win and half a loss


def test_parse_sprt():
    t = parse_sprt("elo0=0,elo1=35")
    assert (t.elo0, t.elo1, t.alpha, t.beta) == (0, 35, 0.05, 0.05)
    t = parse_sprt("elo0=-10, elo1=20, alpha=0.01, beta=0.1")
    assert (t.elo0, t.elo1, t.alpha, t.beta) == (-10, 20, 0.01, 0.1)
    for bad, msg in [("elo1=35", "needs elo0"), ("elo0=0,elo1=x", "elo1='x' is not a number"),
                     ("elo0=0,elo1=35,gamma=1", "gamma=1"), ("elo0=10,elo1=5", "elo1 > elo0"),
                     ("elo0=0,elo1=35,alpha=0.7", "alpha must be"), ("elo0=0,elo0=1,elo1=3", "given twice")]:
        with pytest.raises(ValueError, match=msg):
            parse_sprt(bad)
