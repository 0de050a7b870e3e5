"""Rule tests built from ASCII boards: captures, ko, superko, suicide, scoring, handicap."""

import numpy as np
import pytest

from games.go import BLACK, WHITE, IllegalMoveError, Position, Rules, fixed_handicap_points
from games.go import coords


def at(v: str, size: int) -> int:
    return coords.from_gtp(v, size)


def board(text: str, *, to_move=BLACK, **rules) -> Position:
    size = len([r for r in text.strip().splitlines() if r.strip()])
    return Position.from_ascii(text, Rules(size=size, **rules), to_move=to_move)


def ascii_of(pos: Position) -> str:
    return pos.to_ascii(coordinates=False, last_move=False)


def test_single_stone_capture_in_centre_and_corner():
    pos = board("""
        . X . . .
        X O X . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert pos.liberties_at(at("B4", 5)) == 1
    after = pos.play(at("B3", 5))
    assert after.color_at(at("B4", 5)) == 0
    assert after.captures[BLACK] == 1
    assert after.liberties_at(at("B3", 5)) == 4
    corner = board("""
        O X . .
        . . . .
        . . . .
        . . . .
    """)
    after = corner.play(at("A3", 4))
    assert after.color_at(at("A4", 4)) == 0 and after.captures[BLACK] == 1


def test_multi_stone_capture_updates_liberties_of_neighbours():
    pos = board("""
        . X X X .
        X O O O X
        . X X . .
        . . . . .
        . . . . .
    """)
    assert pos.liberties_at(at("B4", 5)) == 1
    after = pos.play(at("D3", 5))
    assert ascii_of(after) == ascii_of(board("""
        . X X X .
        X . . . X
        . X X X .
        . . . . .
        . . . . .
    """))
    assert after.captures[BLACK] == 3
    # the black chains next to the hole gained its three points as liberties
    assert after.liberties_at(at("B5", 5)) == 5  # A5, E5, B4, C4, D4
    assert after.liberties_at(at("B3", 5)) == len({at(v, 5) for v in ("A3", "B2", "C2", "D2", "E3", "B4", "C4", "D4")})


def test_snapback():
    pos = board("""
        . . . . .
        . . . . .
        X X . . .
        O O X . .
        . . X . .
    """)
    throw_in = pos.play(at("A1", 5))  # a lone black stone with one liberty, B1
    take = throw_in.play(at("B1", 5))  # white captures it...
    assert take.captures[WHITE] == 1 and take.color_at(at("A1", 5)) == 0
    assert take.liberties_at(at("B1", 5)) == 1  # ...and is left with one liberty
    assert take.ko_point is None  # three stones took one: no ko
    snap = take.play(at("A1", 5))
    assert snap.captures[BLACK] == 3
    assert [snap.color_at(at(v, 5)) for v in ("A2", "B2", "B1")] == [0, 0, 0]


def test_suicide_illegal_by_default_and_allowed_by_option():
    text = """
        . X . .
        X . . .
        . . . .
        . . . .
    """
    pos = board(text, to_move=WHITE)
    assert not pos.is_legal(at("A4", 4))
    with pytest.raises(IllegalMoveError, match="suicide"):
        pos.play(at("A4", 4))
    # multi-stone suicide: white A4 connecting to A3? build a two-stone case
    multi = """
        . X . .
        O X . .
        X . . .
        . . . .
    """
    pos = board(multi, to_move=WHITE)
    assert not pos.is_legal(at("A4", 4))
    allowed = board(multi, to_move=WHITE, allow_suicide=True)
    assert allowed.is_legal(at("A4", 4))
    after = allowed.play(at("A4", 4))
    assert after.color_at(at("A4", 4)) == 0 and after.color_at(at("A3", 4)) == 0
    assert after.captures[BLACK] == 2
    assert after.to_move == BLACK
    # a lone stone's suicide changes nothing and stays illegal even when suicide is allowed
    lone = board(text, to_move=WHITE, allow_suicide=True)
    assert not lone.is_legal(at("A4", 4))


KO = """
    . . . . .
    . X O . .
    X O . O .
    . X O . .
    . . . . .
"""


@pytest.mark.parametrize("ko", ["simple", "positional", "situational"])
def test_simple_ko_recapture_forbidden_then_allowed_after_a_threat(ko):
    pos = board(KO, ko=ko)
    p1 = pos.play(at("C3", 5))  # black takes the ko
    assert p1.captures[BLACK] == 1 and p1.ko_point == at("B3", 5)
    assert not p1.is_legal(at("B3", 5))
    with pytest.raises(IllegalMoveError, match="ko"):
        p1.play(at("B3", 5))
    p2 = p1.play(at("E1", 5)).play(at("E5", 5))  # ko threat and answer elsewhere
    assert p2.is_legal(at("B3", 5))
    p3 = p2.play(at("B3", 5))
    assert p3.captures[WHITE] == 1


# Three kos along the top edge of a 13x13 board, in states (A: black may take,
# B: white may take, C: black may take).  Six captures in a row, each legal
# under simple ko, bring the whole board back to the start.
TRIPLE_KO = "\n".join(["XO.OX.XOXO.O.", ".XO..XO..XO..", *["." * 13] * 11])
TRIPLE_KO_CYCLE = [(BLACK, "C13"), (WHITE, "F13"), (BLACK, "L13"), (WHITE, "B13"), (BLACK, "G13"), (WHITE, "K13")]


def _before_last_capture(ko: str) -> tuple[Position, Position]:
    start = board(TRIPLE_KO, ko=ko)
    pos = start
    for color, v in TRIPLE_KO_CYCLE[:-1]:
        pos = pos.play(at(v, 13), color)
    assert sum(pos.captures.values()) == 5
    return start, pos


def test_triple_ko_cycle_under_each_rule():
    last_color, last_v = TRIPLE_KO_CYCLE[-1]
    start, pos = _before_last_capture("simple")
    assert pos.is_legal(at(last_v, 13), last_color)  # simple ko lets the cycle go round forever
    again = pos.play(at(last_v, 13), last_color)
    assert np.array_equal(again.stones(), start.stones())
    for ko in ("positional", "situational"):
        start, pos = _before_last_capture(ko)
        assert not pos.is_legal(at(last_v, 13), last_color), ko
        with pytest.raises(IllegalMoveError, match="superko"):
            pos.play(at(last_v, 13), last_color)


def test_situational_superko_looks_at_the_side_to_move():
    text = """
        . . . . .
        . X O . .
        X O . O .
        . X O . .
        . . . . .
    """
    for ko, legal in (("positional", False), ("situational", True)):
        # The start position is recorded with WHITE to move; black takes the ko out of
        # turn and white's retake recreates the start board with BLACK to move.
        pos = board(text, to_move=WHITE, ko=ko).play(at("C3", 5), BLACK)
        assert pos.is_legal(at("B3", 5), WHITE) is legal, ko


def test_area_scoring_with_seki_and_eyes():
    # Tromp-Taylor: stones plus empty points reaching only one colour.
    pos = board("""
        . X O .
        X X O O
        . X O .
        X X O O
    """, komi=0.5)
    # black: 6 stones + A4, A2 = 8; white: 6 stones + D4, D2 = 8
    assert pos.score() == -0.5
    assert pos.result() == "W+0.5"
    seki = board("""
        X X X O O
        X O . X O
        X O . X O
        X X O O O
        . X O . .
    """, komi=0.0)
    # the empty points C4 and C3 touch both colours: neutral (seki); A1 black's; D1, E1 white's
    owner = seki.area_owner()
    assert owner[at("C4", 5)] == 0 and owner[at("C3", 5)] == 0
    black = int(np.count_nonzero(owner == BLACK))
    white = int(np.count_nonzero(owner == WHITE))
    assert seki.score() == black - white


def test_empty_board_scores_komi():
    pos = Position.empty(Rules(size=9, komi=7.5))
    assert pos.score() == -7.5 and pos.result() == "W+7.5"


@pytest.mark.parametrize("size,n,expected", [
    (19, 2, {"D4", "Q16"}),
    (19, 3, {"D4", "Q16", "D16"}),
    (19, 5, {"D4", "Q16", "D16", "Q4", "K10"}),
    (19, 6, {"D4", "Q16", "D16", "Q4", "D10", "Q10"}),
    (19, 8, {"D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16"}),
    (9, 9, {"C3", "G7", "C7", "G3", "C5", "G5", "E3", "E7", "E5"}),
    (13, 4, {"D4", "K10", "D10", "K4"}),
    (7, 4, {"C3", "E5", "C5", "E3"}),
])
def test_fixed_handicap_points(size, n, expected):
    assert {coords.to_gtp(p, size) for p in fixed_handicap_points(size, n)} == expected


@pytest.mark.parametrize("size,n", [(19, 10), (8, 5), (6, 2), (9, 1)])
def test_fixed_handicap_rejects_bad_counts(size, n):
    with pytest.raises(ValueError, match="handicap"):
        fixed_handicap_points(size, n)


def test_handicap_setup_gives_white_the_move():
    pos = Position.empty(Rules(size=9)).with_setup(black=fixed_handicap_points(9, 4)).with_to_move(WHITE)
    assert pos.to_move == WHITE
    assert int(np.count_nonzero(pos.stones() == BLACK)) == 4


def test_immutable_play_and_undo_and_inplace():
    pos = Position.empty(Rules(size=9))
    nxt = pos.play(at("E5", 9))
    assert pos.color_at(at("E5", 9)) == 0 and nxt.color_at(at("E5", 9)) == BLACK
    assert nxt.undo() is pos
    fast = pos.copy()
    same = fast.play(at("E5", 9), inplace=True)
    assert same is fast and fast.color_at(at("E5", 9)) == BLACK


def test_legal_mask_matches_is_legal_on_random_positions():
    rng = np.random.default_rng(0)
    for size in (5, 9):
        pos = Position.empty(Rules(size=size, ko="positional"))
        for _ in range(60):
            mask = pos.legal_mask()
            assert mask[-1]
            for p in range(size * size):
                assert mask[p] == pos.is_legal(p), (size, p)
            legal = np.flatnonzero(mask[:-1])
            if len(legal) == 0:
                break
            pos = pos.play(int(rng.choice(legal)))


def test_incremental_liberties_match_a_recount():
    from games.go import _core

    rng = np.random.default_rng(1)
    pos = Position.empty(Rules(size=7, ko="simple"))
    for _ in range(200):
        legal = np.flatnonzero(pos.legal_mask()[:-1])
        if len(legal) == 0:
            break
        pos = pos.play(int(rng.choice(legal)), inplace=True)
        s = pos._s
        for p in range(49):
            if s[_core.COLOR, p] != 0:
                h = s[_core.HEAD, p]
                libs = pos.liberties_at(p)
                assert libs > 0
                assert _core.in_atari(s, h) == (libs == 1)
        # the rebuilt board has the same hash as the incrementally updated one
        rebuilt = Position.from_ascii(ascii_of(pos).replace("(", " ").replace(")", " "), Rules(size=7))
        assert rebuilt.zobrist == pos.zobrist


def test_playout_ends_with_a_sensible_score():
    from games.go import _core

    geo = _core.geometry(9)
    s, g, _ = _core.new_state(9)
    rng = _core.seed_rng(3)
    score, moves = _core.playout(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, rng, 243)
    assert -81 <= score <= 81 and 0 < moves <= 243
    # after the playout every empty point is an eye or a dame: no legal non-eye move remains,
    # unless the move cap stopped it
    if g[_core.PASSES] >= 2:
        pos_colors = s[_core.COLOR]
        for p in range(81):
            if pos_colors[p] == 0:
                assert (_core.is_eye(s, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, p, 1)
                        or _core.is_eye(s, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, p, 2)
                        or not _core._legal_simple(s, g, geo.nbr, geo.num_nbr, p, 1)
                        or not _core._legal_simple(s, g, geo.nbr, geo.num_nbr, p, 2))


def test_batched_playouts_are_reproducible():
    from games.go import _core

    geo = _core.geometry(9)
    s, g, _ = _core.new_state(9)
    a, ma = _core.playouts(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, 7, 64, 243)
    b, mb = _core.playouts(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, 7, 64, 243)
    assert np.array_equal(a, b) and ma == mb
    assert len(set(a.tolist())) > 1  # different playouts differ


def test_branching_lines_keep_their_own_history():
    """Positions share one append-only history buffer; a second branch must not see the first's moves."""
    rng = np.random.default_rng(4)
    rules = Rules(size=5, ko="positional")
    lines = {(): Position.empty(rules)}
    for _ in range(300):
        key = list(lines)[int(rng.integers(len(lines)))]
        pos = lines[key]
        legal = np.flatnonzero(pos.legal_mask()[:-1])
        if len(legal) == 0:
            continue
        move = int(rng.choice(legal))
        lines[key + (move,)] = pos.play(move)
    for key, pos in lines.items():
        fresh = Position.empty(rules)
        for move in key:
            fresh = fresh.play(move, inplace=True)
        assert np.array_equal(fresh.legal_mask(), pos.legal_mask()), key
        assert fresh.move_number == pos.move_number == len(key)


def test_territory_estimate_counts_surrounded_points_and_prisoners():
    pos = board("""
        . X O .
        X X O O
        . X O .
        X X O O
    """, komi=0.5)
    # black surrounds A4 and A2, white D4 and D2; no prisoners yet
    assert pos.territory_estimate() == 2 - 2 - 0.5
    taken = board("""
        . X . . .
        X O X . .
        . . . . .
        . . . . .
        . . . . .
    """, komi=0.0).play(at("B3", 5))
    # only black stones on the board: every empty point is black territory, plus one prisoner
    owner = taken.area_owner()
    black_territory = int(np.count_nonzero((owner == BLACK) & (taken.stones() == 0)))
    assert taken.territory_estimate() == black_territory + 1
