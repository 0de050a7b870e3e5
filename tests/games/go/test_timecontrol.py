"""Time control: seconds per move from the GTP clock, for every time system, through the engine too."""

from __future__ import annotations

import pytest

from games.go import BLACK, WHITE, Rules
from games.go.gtp import GtpEngine
from games.go.gtp import TimeSettings as GtpTimeSettings
from games.go.players import RandomPlayer
from games.go.timecontrol import TimeSettings, expected_moves_left, move_budget


def budget(settings, moves=0, size=19, color=BLACK, **kw):
    return move_budget(settings, color, moves_played=moves, board_size=size, **kw)


def test_no_clock_means_no_budget():
    assert budget(TimeSettings()) is None
    assert budget(TimeSettings("none", 300, 30, 5)) is None
    assert budget(None) is None


def test_absolute_spreads_main_time_over_the_expected_game():
    s = TimeSettings("absolute", 600)
    first = budget(s, 0, 19)
    assert 600 / 200 < first < 600 / 100  # about 135 moves of ours expected in a 19x19 game
    assert budget(s, 0, 9) > first  # fewer moves expected on 9x9: more per move
    # later in the game the same time left buys more per move, but never beyond what is left
    s.time_left[BLACK] = (100.0, 0)
    times = [budget(s, m, 19) for m in range(0, 600, 10)]
    assert times == sorted(times) and max(times) <= 100 - 0.5
    assert times[-1] == pytest.approx(100 / expected_moves_left(19, 600))  # the floor of expected moves
    # time left running down: the budget shrinks with it and stays at least the floor
    last = None
    for left in (100, 50, 10, 2, 0.5, 0.01, 0):
        s.time_left[BLACK] = (left, 0)
        b = budget(s, 100, 9)
        assert b >= 0.05 and (left < 0.1 or b <= left)
        assert last is None or b <= last
        last = b
    assert last == 0.05


def test_time_left_is_per_colour():
    s = TimeSettings("absolute", 600)
    s.time_left[WHITE] = (60.0, 0)
    assert budget(s, 50, 9, color=WHITE) < budget(s, 50, 9, color=BLACK)


def test_canadian_main_time_then_periods():
    s = TimeSettings("canadian", 60, 300, 25)
    in_main = budget(s, 0, 19)
    assert in_main > 60 / expected_moves_left(19, 0)  # the byo-yomi share per stone comes on top
    assert in_main <= 60 + 300 / 25
    # main time over: 300 s for the 25 stones of the period, minus the reserve
    s.time_left[BLACK] = (300.0, 25)
    assert budget(s, 200, 19) == pytest.approx(300 * 0.9 / 25)
    s.time_left[BLACK] = (20.0, 4)  # late in a period
    assert budget(s, 240, 19) == pytest.approx((20 - 2) / 4)
    s.time_left[BLACK] = (1.0, 1)
    assert budget(s, 260, 19) == pytest.approx(0.5)  # the 0.5 s lag reserve
    s.time_left[BLACK] = (0.0, 0)  # main time just ran out: a fresh period
    assert budget(s, 150, 19) == pytest.approx(300 * 0.9 / 25)
    # no main time at all: byo-yomi from the first move
    assert budget(TimeSettings("canadian", 0, 30, 10), 0, 9) == pytest.approx(2.7)


def test_japanese_byoyomi_uses_most_of_a_period():
    s = TimeSettings("byoyomi", 0, 30, 0, 5)
    assert budget(s, 0, 19) == pytest.approx(27)
    s.time_left[BLACK] = (30.0, 3)  # KGS: 30 s in the period, 3 periods left
    assert budget(s, 100, 19) == pytest.approx(27)
    s.time_left[BLACK] = (5.0, 1)
    assert budget(s, 100, 19) == pytest.approx(4.5)
    with_main = TimeSettings("byoyomi", 600, 30, 0, 5)
    assert 27 < budget(with_main, 0, 19) <= 600 + 30
    with_main.time_left[BLACK] = (1.0, 0)  # the last second of main time, then a 30 s period
    assert budget(with_main, 100, 19) == pytest.approx(1 / expected_moves_left(19, 100) + 27)


def test_margin_and_floor_are_respected():
    s = TimeSettings("byoyomi", 0, 10, 0, 1)
    assert budget(s, margin=2.0) == pytest.approx(8.0)
    assert budget(s, margin=0.0) == pytest.approx(9.0)  # 10% is always kept back
    tiny = TimeSettings("byoyomi", 0, 0.02, 0, 1)
    assert budget(tiny) == 0.05 and budget(tiny, floor=0.01) == 0.01


def test_settings_are_validated():
    with pytest.raises(ValueError, match="fischer"):
        TimeSettings("fischer")
    with pytest.raises(ValueError, match="main_time"):
        TimeSettings("absolute", -1)


def test_engine_clock_commands_feed_move_budget():
    seen = []

    class Clocked(RandomPlayer):
        def set_time(self, settings):
            seen.append(move_budget(settings, BLACK, moves_played=10, board_size=9))

    eng = GtpEngine(Clocked(seed=0), Rules(size=9))
    assert GtpTimeSettings is TimeSettings  # the GTP module re-exports the same class
    eng.handle("time_settings 300 0 0")
    eng.handle("time_left b 30 0")
    eng.handle("kgs-time_settings canadian 0 60 10")
    eng.handle("time_left black 12 3")
    eng.handle("kgs-time_settings byoyomi 0 10 3")
    eng.handle("kgs-time_settings none")
    assert seen[0] == pytest.approx(300 / expected_moves_left(9, 10))
    assert seen[1] == pytest.approx(30 / expected_moves_left(9, 10))
    assert seen[2] == pytest.approx(54 / 10) and seen[3] == pytest.approx(10.8 / 3)
    assert seen[4] == pytest.approx(9) and seen[5] is None
    assert eng.handle("kgs-time_settings byoyomi 0 -10 3").startswith("? syntax error")
    assert eng.handle("kgs-time_settings canadian 0 10 -3").startswith("? syntax error")
