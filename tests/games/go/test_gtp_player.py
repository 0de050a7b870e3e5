"""The gtp:COMMAND player: an external engine (GNU Go, or a tiny fake) behind the Player protocol."""

import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from games.go import coords
from games.go.board import BLACK, WHITE, Position, Rules
from games.go.players import EngineError, GtpPlayer, RandomPlayer
from games.go.selfplay import play_game
from rlengine.registry import load_player

FAKE = Path(__file__).with_name("fake_gtp_engine.py")


def fake(mode: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} {mode}"


def engine_stones(player: GtpPlayer, size: int) -> np.ndarray:
    board = np.zeros(size * size, dtype=np.int8)
    for color, name in ((BLACK, "black"), (WHITE, "white")):
        for vertex in player._send(f"list_stones {name}").split():
            board[coords.from_gtp(vertex, size)] = color
    return board


@pytest.fixture
def gnugo_player(gnugo):
    player = load_player("gtp:" + " ".join(gnugo + ["--level", "1", "--never-resign", "--seed", "{seed}"]), seed=6)
    yield player
    player.close()


def test_gnugo_follows_a_game_through_observe(gnugo_player):
    rules = Rules(size=5, komi=7.5)
    record, final = play_game(RandomPlayer(6), gnugo_player, rules)
    assert record.num_moves > 4 and final.is_over
    # the engine's board is the game's board: every random move reached it with `play`
    np.testing.assert_array_equal(engine_stones(gnugo_player, 5), final.stones())
    # play-out: after the first pass GNU Go plays kgs-genmove_cleanup, so no dead stone is left for area scoring
    assert gnugo_player._send("final_status_list dead") == ""
    assert record.result == final.result()


def test_positions_with_parents_sync_and_divergence_replays(gnugo_player):
    rules = Rules(size=5, komi=7.5)
    gnugo_player.reset(rules)
    gnugo_player._observed = None  # no observe(): the player reads the position's parent chain
    pos = Position.empty(rules).play(coords.from_gtp("C3", 5)).play(coords.from_gtp("B2", 5))
    move = gnugo_player.genmove(pos, BLACK)
    after = pos.play(move, BLACK)
    np.testing.assert_array_equal(engine_stones(gnugo_player, 5), after.stones())
    # another line from the start (an undo, a new game): the engine is cleared and replayed
    other = Position.empty(rules).play(coords.from_gtp("D4", 5)).play(coords.from_gtp("A5", 5))
    gnugo_player.genmove(other, BLACK)
    stones = engine_stones(gnugo_player, 5)
    assert stones[coords.from_gtp("C3", 5)] != WHITE and stones[coords.from_gtp("B2", 5)] == 0
    assert stones[coords.from_gtp("A5", 5)] == WHITE and stones[coords.from_gtp("D4", 5)] == BLACK
    assert (stones == BLACK).sum() == 2


def test_resign_is_none_and_cleanup_after_a_pass():
    player = GtpPlayer(fake("resign"))
    player.reset(Rules(size=5))
    assert player.genmove(Position.empty(Rules(size=5)), BLACK) is None
    player.close()
    player = GtpPlayer(fake("cleanup"))
    rules = Rules(size=5)
    player.reset(rules)
    pos = Position.empty(rules)
    assert player.genmove(pos, BLACK) == pos.pass_move  # plain genmove before any pass
    player.observe(BLACK, pos.pass_move)
    pos = pos.play(pos.pass_move, inplace=True)
    assert player.genmove(pos, WHITE) == coords.from_gtp("A1", 5)  # kgs-genmove_cleanup once a pass was played
    player.close()


def test_crash_names_the_command_and_stderr():
    player = GtpPlayer(fake("crash"))
    player.reset(Rules(size=5))
    with pytest.raises(EngineError) as info:
        player.genmove(Position.empty(Rules(size=5)), BLACK)
    message = str(info.value)
    assert "fake_gtp_engine.py crash" in message and "out of cheese" in message and "genmove b" in message
    player.reset(Rules(size=5))  # a dead engine is restarted for the next game
    assert player.alive
    player.close()
    assert not player.alive


def test_hang_times_out_with_a_clear_error():
    player = GtpPlayer(fake("hang"), timeout=0.5)
    player.reset(Rules(size=5))
    with pytest.raises(EngineError, match="no answer to 'genmove b'"):
        player.genmove(Position.empty(Rules(size=5)), BLACK)
    assert not player.alive  # killed, not left running
    player.close()


def test_bad_specs_are_clear():
    with pytest.raises(ValueError, match="needs a command"):
        load_player("gtp:")
    with pytest.raises(EngineError, match="cannot start engine"):
        load_player("gtp:/nonexistent/engine --mode gtp")
