"""games.go.game: the one game loop's end of game (two passes, cleanup, two passes), resignation,
forfeit, caps, undo and the SGF record, with scripted players."""

import numpy as np
import pytest

from games.go import coords, sgf
from games.go.board import BLACK, WHITE, IllegalMoveError, Position, Rules
from games.go.game import CLEANUP, OVER, PLAY, Game, play_game

RULES5 = Rules(size=5, komi=0.5)
PASS5 = 25

# A white stone dead inside black's area: Tromp-Taylor counts it, and it spoils black's area.
DEAD_WHITE = """
. . X . .
. . X . .
X X X . .
. O X . .
. . X . .
"""


def v(vertex: str, size: int = 5) -> int:
    return coords.from_gtp(vertex, size)


class Scripted:
    """Plays a fixed list of moves (GTP vertices, 'pass', None to resign); records which method was asked."""

    def __init__(self, moves):
        self.moves = list(moves)
        self.calls: list[str] = []
        self.name = "scripted"
        self.events: list[str] = []

    def reset(self, rules):
        self.events.append("reset")

    def observe(self, color, move):
        self.events.append("observe")

    def _next(self, position):
        move = self.moves.pop(0)
        return None if move is None else (position.pass_move if move == "pass" else v(move, position.size))

    def genmove(self, position, color):
        self.calls.append("genmove")
        return self._next(position)

    def genmove_cleanup(self, position, color):
        self.calls.append("cleanup")
        assert position.passes < 2, "the cleanup phase starts with no passes"
        return self._next(position)


class PlainScripted(Scripted):
    genmove_cleanup = None  # a player without the cleanup hook


def test_two_passes_start_the_cleanup_phase_and_two_more_end_the_game():
    start = Position.from_ascii(DEAD_WHITE, RULES5)
    game = Game(start=start)
    assert game.phase == PLAY and not game.over
    game.play(PASS5)  # black
    game.play(PASS5)  # white
    assert game.phase == CLEANUP and not game.over
    assert game.position.passes == 0 and not game.position.is_over  # players see a game going on
    tt_first = start.score()
    assert game.first_score == tt_first and game.result is None
    assert tt_first == 21 - 1 - 0.5  # A1 A2 B1 touch both colours: neutral
    # black captures the dead stone (A2, then B1), white passes throughout
    game.play(v("A2"))
    game.play(PASS5)
    assert game.phase == CLEANUP and game.position.color_at(v("B2")) == WHITE  # still one liberty
    game.play(v("B1"))
    assert game.position.color_at(v("B2")) == 0
    game.play(PASS5)
    assert not game.over  # one pass after a stone: the game goes on
    game.play(PASS5)
    assert game.over and game.phase == OVER and game.end == "passes"
    assert game.score == game.position.score() == 25 - 0.5  # every point black's once the stone is gone
    assert game.result == "B+24.5" and game.outcome == 1 and game.winner == BLACK
    assert tt_first < game.score
    with pytest.raises(ValueError, match="over"):
        game.play(v("E5"))
    # the record keeps both results and replays to the final position
    record = game.record(black="b", white="w")
    assert record.result == "B+24.5" and f"Tromp-Taylor there B+{tt_first:g}, at the end B+24.5" in record.comment
    assert "cleanup phase" in record.nodes[1].comment
    text = record.to_sgf()
    back = sgf.GameRecord.from_tree(sgf.parse_sgf(text)[0])
    final = list(back.replay())[-1]
    assert np.array_equal(final.stones(), game.position.stones()) and final.is_over
    assert final.result() == record.result


def test_without_cleanup_two_passes_end_the_game():
    game = Game(RULES5, cleanup=False)
    game.play(v("C3"))
    game.play(PASS5)
    assert not game.over
    game.play(PASS5)
    assert game.over and game.end == "passes" and game.result == game.position.result() == "B+24.5"
    assert game.first_score is None


def test_resignation_and_forfeit():
    game = Game(RULES5)
    game.play(v("C3"))
    game.resign(WHITE)
    assert game.over and game.result == "B+R" and game.score is None and game.outcome == 1
    with pytest.raises(ValueError):
        game.resign(BLACK)
    # play_game: an illegal answer forfeits; labels name the player in the note
    black, white = Scripted(["C3", "D4"]), Scripted(["C3"])
    game = play_game((black, white), RULES5, labels={BLACK: "A", WHITE: "B"})
    assert game.result == "B+F" and game.end == "forfeit" and game.num_moves == 1
    assert "forfeit: white (B) played the illegal move C3 at move 2: point is occupied" in game.record().comment
    with pytest.raises(IllegalMoveError, match=r"scripted \(white\) played the illegal move C3 at move 2"):
        play_game((Scripted(["C3"]), Scripted(["C3"])), RULES5, illegal="raise")
    game = play_game((Scripted(["C3", None]), Scripted(["D4"])), RULES5)
    assert game.result == "W+R" and game.num_moves == 2 and game.outcome == -1


def test_the_move_cap_counts_cleanup_moves_and_the_cleanup_phase_has_its_own_cap():
    game = Game(RULES5, max_moves=4)
    for move in (PASS5, PASS5, v("C3")):
        game.play(move)
    assert game.phase == CLEANUP
    game.play(v("D4"))
    assert game.over and game.end == "move cap" and "move cap (4)" in game.record().comment
    assert game.result == game.position.result()
    game = Game(RULES5, cleanup_moves=3)
    for move in (PASS5, PASS5, v("C3"), v("D4")):
        game.play(move)
    assert not game.over
    game.play(v("B2"))
    assert game.over and game.end == "cleanup cap" and "cleanup cap (3 moves" in game.record().comment
    # capped games end even when the players never stop
    loop = play_game((Scripted(["C3", "pass"] + ["pass"] * 10), Scripted(["pass"] * 12)),
                     Game(RULES5, cleanup_moves=4))
    assert loop.over


def test_play_game_asks_for_cleanup_moves_after_two_passes_and_resets_and_observes():
    black = Scripted(["C3", "pass", "B2", "pass"])
    white = PlainScripted(["pass", "D4", "pass"])
    game = play_game((black, white), RULES5)
    assert black.calls == ["genmove", "genmove", "cleanup", "cleanup"]
    assert white.calls == ["genmove", "genmove", "genmove"]  # no genmove_cleanup: plain genmove
    assert game.over and game.num_moves == 7 and game.phase == OVER
    assert black.events == ["reset"] + ["observe"] * 7
    # a game with an opening: the players are told its moves after the reset
    opened = Game(RULES5)
    opened.play(v("C3"), comment="opening")
    b, w = Scripted(["pass", "pass", "pass"]), Scripted(["pass", "pass", "pass"])
    play_game((b, w), opened)
    assert b.events[:2] == ["reset", "observe"] and opened.record().nodes[0].comment == "opening"


def test_undo_replays_and_reopens_the_game():
    game = Game(RULES5)
    for move in (v("C3"), PASS5, PASS5):
        game.play(move)
    assert game.phase == CLEANUP
    taken = game.undo(1)
    assert taken == [(BLACK, PASS5)] and game.phase == PLAY and game.position.passes == 1
    assert game.undo(2) == [(BLACK, v("C3")), (WHITE, PASS5)]
    assert game.num_moves == 0 and not game.position.stones().any()


def test_handicap_and_start_positions_are_in_the_record():
    game = Game(Rules(size=9), handicap=2)
    assert game.to_move == WHITE
    game.play(v("E5", 9))
    record = game.record()
    assert record.handicap == 2 and len(record.setup.black) == 2 and record.to_move == WHITE
    assert np.array_equal(list(record.replay())[-1].stones(), game.position.stones())
    start = Position.from_ascii(DEAD_WHITE, RULES5, to_move=WHITE)
    record = Game(start=start).record()
    assert record.to_move == WHITE and np.array_equal(record.start().stones(), start.stones())
