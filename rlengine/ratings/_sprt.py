"""Wald's sequential probability ratio test on game results, as Leela Zero gates its networks.

H0: the candidate is ``elo0`` Elo stronger than its opponent; H1: ``elo1`` stronger (elo1 > elo0).
Under each hypothesis a game scores 1 with probability p = 1 / (1 + 10**(-elo/400)); a draw counts as
half a win and half a loss.  The log-likelihood ratio after W wins, D draws and L losses is

    LLR = (W + D/2) * log(p1 / p0) + (L + D/2) * log((1 - p1) / (1 - p0))

and the test stops at the first game where LLR >= log((1 - beta) / alpha) (accept H1: the candidate is
at least elo1 stronger, "pass") or LLR <= log(beta / (1 - alpha)) (accept H0, "fail").  Wald's bounds
hold the error rates near alpha (H1 accepted when H0 is true) and beta (H0 accepted when H1 is true),
at most about alpha / (1 - beta) and beta / (1 - alpha); ``benchmarks/ratings.py --sprt N`` measures
them.  A cap on games that ends the test undecided gives "inconclusive".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["SPRT", "parse_sprt"]


@dataclass(frozen=True)
class SPRT:
    elo0: float = 0.0
    elo1: float = 35.0
    alpha: float = 0.05
    beta: float = 0.05

    def __post_init__(self) -> None:
        if not self.elo1 > self.elo0:
            raise ValueError(f"SPRT needs elo1 > elo0, got elo0={self.elo0:g}, elo1={self.elo1:g}")
        for name in ("alpha", "beta"):
            v = getattr(self, name)
            if not 0.0 < v < 0.5:
                raise ValueError(f"SPRT {name} must be in (0, 0.5), got {v:g}")

    @property
    def bounds(self) -> tuple[float, float]:
        """(lower, upper) LLR bounds: accept H0 at or below lower, H1 at or above upper."""
        return math.log(self.beta / (1.0 - self.alpha)), math.log((1.0 - self.beta) / self.alpha)

    def llr(self, wins: float, draws: float, losses: float) -> float:
        p0 = 1.0 / (1.0 + 10.0 ** (-self.elo0 / 400.0))
        p1 = 1.0 / (1.0 + 10.0 ** (-self.elo1 / 400.0))
        return ((wins + draws / 2) * math.log(p1 / p0)
                + (losses + draws / 2) * math.log((1.0 - p1) / (1.0 - p0)))

    def decide(self, wins: float, draws: float, losses: float) -> str | None:
        """``"pass"`` (H1), ``"fail"`` (H0), or None (play on)."""
        lower, upper = self.bounds
        x = self.llr(wins, draws, losses)
        if x >= upper:
            return "pass"
        if x <= lower:
            return "fail"
        return None

    def run(self, scores) -> dict:
        """Feed ``scores`` (1, 0.5, 0 for the candidate, in game order) until the test decides; the
        summary ``{"llr", "bounds", "decision", "games", "wins", "draws", "losses"}`` ("inconclusive"
        when the scores run out first)."""
        w = d = l = 0
        decision = None
        for s in scores:
            if s == 1:
                w += 1
            elif s == 0:
                l += 1
            else:
                d += 1
            decision = self.decide(w, d, l)
            if decision is not None:
                break
        return {"llr": round(self.llr(w, d, l), 4), "bounds": [round(b, 4) for b in self.bounds],
                "decision": decision or "inconclusive", "games": w + d + l, "wins": w, "draws": d, "losses": l,
                "elo0": self.elo0, "elo1": self.elo1, "alpha": self.alpha, "beta": self.beta}


def parse_sprt(text: str) -> SPRT:
    """``elo0=0,elo1=35[,alpha=0.05,beta=0.05]`` -> SPRT; ValueError naming the bad part."""
    values: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in ("elo0", "elo1", "alpha", "beta"):
            raise ValueError(f"--sprt: {part!r} is not KEY=VALUE with KEY one of elo0, elo1, alpha, beta")
        if key in values:
            raise ValueError(f"--sprt: {key} given twice")
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f"--sprt: {key}={value!r} is not a number") from None
    missing = [k for k in ("elo0", "elo1") if k not in values]
    if missing:
        raise ValueError(f"--sprt needs {' and '.join(missing)} (e.g. elo0=0,elo1=35)")
    return SPRT(**values)
