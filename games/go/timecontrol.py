"""Game clocks: the GTP time settings and how many seconds to spend on one move.

``TimeSettings`` is what ``time_settings`` / ``kgs-time_settings`` set and
``time_left`` updates (``GtpEngine`` hands it to the player's ``set_time``).
``move_budget(settings, color, moves_played=..., board_size=...)`` turns it
into seconds for the next move:

- **none**: ``None`` (no clock; the player uses its own visit budget).
- **main time** (absolute, or the main time before byo-yomi): the time left
  spread over the moves we still expect to play, ``(L - moves_played) / 2``
  with ``L = 0.75 * N * N`` the expected game length (about 61 moves on 9x9,
  271 on 19x19), never fewer than ``max(5, N * N / 20)`` moves, so a long game
  spends a fixed fraction of what is left and never runs out.  With byo-yomi
  after it, one byo-yomi move's share is added (that time comes anyway).
- **canadian byo-yomi**: the time left in the period over the stones still to
  play in it.
- **japanese byo-yomi** (``kgs-time_settings byoyomi``): most of one period;
  periods are never spent on purpose.

A reserve of ``max(margin, 10%)`` of the time that may be spent is kept for
network lag and the engine's own overhead, and the answer is never below
``floor`` seconds (0.05 s; with less than that left the move is lost anyway).
``time_left`` follows GTP: ``stones == 0`` means main time; in canadian byo-yomi
``stones`` is the stones left in the period; in japanese byo-yomi KGS sends
the periods left there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SYSTEMS", "TimeSettings", "expected_moves_left", "move_budget"]

SYSTEMS = ("none", "absolute", "canadian", "byoyomi")


@dataclass
class TimeSettings:
    """The clock as GTP sets it: main time, then Canadian or Japanese byo-yomi."""

    system: str = "none"  # none | absolute | canadian | byoyomi
    main_time: float = 0.0
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0  # canadian: stones per period
    byo_yomi_periods: int = 0  # byoyomi: number of periods
    time_left: dict[int, tuple[float, int]] = field(default_factory=dict)  # color -> (seconds, stones/periods)

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"time system must be one of {', '.join(SYSTEMS)}, got {self.system!r}")
        for name in ("main_time", "byo_yomi_time", "byo_yomi_stones", "byo_yomi_periods"):
            if getattr(self, name) < 0:
                raise ValueError(f"time settings: {name} must not be negative, got {getattr(self, name)}")


def expected_moves_left(board_size: int, moves_played: int) -> float:
    """Moves one side still expects to play: half of what is left of a typical game
    (``0.75 * N * N`` moves in all), at least ``max(5, N * N / 20)``."""
    points = board_size * board_size
    return max((0.75 * points - moves_played) / 2.0, max(5.0, points / 20.0))


def _usable(seconds: float, margin: float) -> float:
    """What may be spent of ``seconds`` once the reserve for lag is kept back."""
    return max(seconds - max(margin, 0.1 * seconds), 0.0)


def move_budget(settings: TimeSettings, color: int, *, moves_played: int, board_size: int, margin: float = 0.5,
                floor: float = 0.05) -> float | None:
    """Seconds to think about this move for ``color``, or None when there is no clock.

    ``moves_played``: moves of the game so far (both sides, passes included);
    ``board_size``: N of the N x N board; ``margin``: seconds kept back for lag
    (at least 10% of the time that may be spent is kept too); ``floor``: the
    least ever returned.
    """
    if settings is None or settings.system == "none":
        return None
    system = settings.system
    byo = settings.byo_yomi_time
    has_byo = system in ("canadian", "byoyomi") and byo > 0
    if system == "canadian" and settings.byo_yomi_stones <= 0:
        has_byo = False
    if system == "byoyomi" and settings.byo_yomi_periods <= 0:
        has_byo = False
    left, stones = settings.time_left.get(color, (settings.main_time, 0))
    left = max(float(left), 0.0)
    in_main = stones <= 0 and (left > 0 or not has_byo)

    if in_main:
        spread = left / expected_moves_left(board_size, moves_played)
        if not has_byo:
            budget = min(spread, _usable(left, margin))
        else:
            per_byo_move = byo / settings.byo_yomi_stones if system == "canadian" else byo
            # when main time runs out during this move the next period starts: its share may be used too
            budget = min(spread + _usable(per_byo_move, margin), _usable(left + per_byo_move, margin))
    elif system == "canadian":
        period_left = left if stones > 0 else byo  # main time over and no time_left yet: a fresh period
        stones_left = stones if stones > 0 else settings.byo_yomi_stones
        budget = _usable(period_left, margin) / max(stones_left, 1)
    elif system == "byoyomi":
        period_left = left if stones > 0 else byo
        budget = _usable(min(period_left, byo) if byo > 0 else period_left, margin)
    else:  # absolute with no time left
        budget = 0.0
    return max(budget, floor)
