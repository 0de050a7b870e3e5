"""rlengine play: the session logic against real players (seeded random, GNU Go), and the real CLI in a pty."""

import io
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from games.go import BLACK, WHITE, Position, Rules, coords, fixed_handicap_points, sgf
from games.go.game import Game
from rlengine.play import PlaySession, default_sgf_path, run_session
from rlengine.registry import load_player


def v(vertex: str, size: int = 9) -> int:
    return coords.from_gtp(vertex, size)


def read(path) -> sgf.GameRecord:
    return sgf.GameRecord.from_tree(sgf.read_sgf(path)[0], source=str(path))


def random_session(seed: int = 1, **kwargs) -> PlaySession:
    return PlaySession(load_player("random", seed=seed), Rules(9), opponent_name="random", **kwargs)


@pytest.fixture
def gnugo_player(gnugo):
    player = load_player("gtp:" + " ".join(gnugo + ["--level", "1"]))
    yield player
    player.close()


def engine_stones(player) -> tuple[set[int], set[int]]:
    """The stones on GNU Go's own board (its list_stones answers)."""
    return tuple({v(x) for x in player._send(f"list_stones {c}").split()} for c in ("black", "white"))


def session_stones(session: PlaySession) -> tuple[set[int], set[int]]:
    stones = session.position.stones()
    return set(np.flatnonzero(stones == BLACK).tolist()), set(np.flatnonzero(stones == WHITE).tolist())


def test_typos_and_illegal_moves_get_clear_messages_and_the_game_goes_on():
    s = random_session()
    text = s.start()
    assert "A B C D E F G H J" in text and "Black (you) to play" in text and "Move 0" in text
    assert "do not understand 'hello'" in s.handle("hello")
    assert "Z9 is not a point on a 9x9 board" in s.handle("z9")
    assert "K5 is not a point on a 9x9 board" in s.handle("K5")  # K exists on bigger boards only
    assert "skip the letter I" in s.handle("i5")
    assert s.moves == [] and not s.finished
    out = s.handle("e5")  # lower case works
    assert s.moves[0] == (BLACK, v("E5")) and len(s.moves) == 2 and s.moves[1][0] == WHITE
    reply = coords.to_gtp(s.moves[1][1], 9)
    assert f"White (agent) plays {reply}." in out and "Move 2; last move: white " + reply in out
    assert "(O)" in out or reply == "pass"  # the last-move marker is on the agent's stone
    assert "E5 is occupied" in s.handle("E5")
    assert f"{reply} is occupied" in s.handle(reply.lower())
    assert len(s.moves) == 2 and not s.finished
    assert "pass" in s.handle("help") and "undo" in s.handle("help")
    s.handle("D4")
    assert len(s.moves) == 4


def test_ko_is_named_as_the_reason():
    s = random_session()
    s.start()
    board = Position.from_ascii("""
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . X O . . .
        . . . X . X O . .
        . . . . X O . . .
        . . . . . . . . .
        . . . . . . . . .
        . . . . . . . . .""", Rules(9), to_move=WHITE)
    s.game = Game(start=board)
    s.game.play(v("E5"))  # white takes F5: black may not retake at once
    assert s.position.color_at(v("F5")) == 0 and s.position.to_move == BLACK
    assert "F5 is illegal: ko" in s.handle("F5")
    assert len(s.moves) == 1


def free(s: PlaySession, *vertices: str) -> str:
    """The first of ``vertices`` that is a legal move for the person now (GNU Go's replies vary)."""
    return next(x for x in vertices if s.position.is_legal(v(x), s.human_color))


def test_undo_takes_back_both_moves_and_resyncs_gnu_go(gnugo_player):
    s = PlaySession(gnugo_player, Rules(9), opponent_name="gnugo")
    s.start()
    assert "Nothing to undo" in s.handle("undo")
    s.handle("C3")
    first_reply = s.moves[1][1]
    second = free(s, "G7", "G3", "C7")
    s.handle(second)
    assert len(s.moves) == 4 and engine_stones(gnugo_player) == session_stones(s)
    second_reply = coords.to_gtp(s.moves[3][1], 9)
    assert f"Took back your {second} and the agent's {second_reply}." in s.handle("undo")
    assert s.moves[:2] == [(BLACK, v("C3")), (WHITE, first_reply)] and len(s.moves) == 2
    assert s.position.to_move == BLACK and s.position.color_at(v(second)) == 0
    s.handle("undo")
    assert s.moves == [] and not s.position.stones().any()
    s.handle("D5")  # GNU Go's board was cleared and replayed: it answers on the game's board
    assert len(s.moves) == 2 and engine_stones(gnugo_player) == session_stones(s)


class _BoardKeeper:
    """A Player that, like a search with tree reuse, knows the game only from reset/observe,
    and checks in genmove that this matches the game's board."""

    name = "keeper"

    def __init__(self):
        self.board = None
        self.events = []

    def reset(self, rules):
        self.board = Position.empty(rules)
        self.events.append("reset")

    def observe(self, color, move):
        self.board = self.board.play(move, color)
        self.events.append("observe")

    def genmove(self, position, color):
        assert np.array_equal(self.board.stones(), position.stones()), "observe() missed a change"
        return next(p for p in position.legal_moves(color) if p != position.pass_move)

    def close(self):
        self.events.append("close")


def test_undo_resets_the_opponent_and_replays_observe(tmp_path):
    keeper = _BoardKeeper()
    s = PlaySession(keeper, Rules(9))
    s.start()
    for move in ("E5", "C3", "G7"):
        s.handle(move)
    assert keeper.events == ["reset"] + ["observe"] * 6
    s.handle("undo")
    assert keeper.events[-5:] == ["reset"] + ["observe"] * 4 and len(s.moves) == 4
    s.handle("D7")  # genmove checks the keeper's board against the game's
    assert len(s.moves) == 6 and np.array_equal(keeper.board.stones(), s.position.stones())
    run_session(s, tmp_path / "k.sgf", stdin=io.StringIO("quit\n"), stdout=io.StringIO())
    assert keeper.events[-1] == "close"


def test_an_engine_that_dies_ends_the_game_and_the_record_is_kept(gnugo_player, tmp_path):
    s = PlaySession(gnugo_player, Rules(9), opponent_name="gnugo")
    s.start()
    s.handle("E5")
    gnugo_player._client._proc.kill()  # GNU Go crashes
    gnugo_player._client._proc.wait()
    out = s.handle(free(s, "C3", "G7", "C7"))
    assert s.finished and s.result is None and "The agent failed: EngineError" in out and "no result" in out
    record = read(s.save(tmp_path / "dead.sgf"))
    assert record.num_moves == 3 and "the agent failed" in record.comment


def test_handicap_stones_reach_gnu_go_and_the_sgf(gnugo_player, tmp_path):
    s = PlaySession(gnugo_player, Rules(9), handicap=5, opponent_name="gnugo")
    text = s.start()
    points = fixed_handicap_points(9, 5)  # includes the centre E5, GNU Go's favourite opening point
    assert "handicap 5" in text and len(s.moves) == 1 and s.moves[0][0] == WHITE  # white moves first
    assert s.moves[0][1] not in points
    s.handle(free(s, "D3", "F6", "B5"))
    s.handle("undo")
    s.handle(free(s, "F3", "D6", "H5"))
    assert engine_stones(gnugo_player) == session_stones(s)
    path = s.save(tmp_path / "h.sgf")
    record = read(path)
    assert record.handicap == 5 and set(record.setup.black) == set(points) and record.to_move == WHITE
    final = list(record.replay())[-1]
    assert np.array_equal(final.stones(), s.position.stones())
    with pytest.raises(ValueError, match="handicap 1 .* expected 0 or 2 to 9"):
        PlaySession(gnugo_player, Rules(9), handicap=1)


def test_pass_pass_ends_with_the_area_score_and_the_sgf_replays_to_it(tmp_path):
    s = random_session(seed=3)
    s.start()
    s.handle("E5")
    for _ in range(200):
        if s.finished:
            break
        out = s.handle("pass")
    assert s.finished and s.position.is_over
    assert s.result == s.position.result() and f"Result: {s.result}." in out
    assert "Area score (Tromp-Taylor" in out and ("you win" in out or "the agent wins" in out)
    assert "The game is over" in s.handle("E5")
    record = read(s.save(tmp_path / "g.sgf"))
    assert record.result == s.result and record.black_player == "human" and record.white_player == "random"
    final = list(record.replay())[-1]
    assert final.is_over and final.result() == s.result


class _Resigner:
    """The smallest Player that resigns at once."""

    name = "resigner"

    def genmove(self, position, color):
        return None


def test_resignation_by_either_side(tmp_path):
    s = random_session(human_color=WHITE)
    s.start()  # the agent (black) moves first
    assert len(s.moves) == 1 and s.moves[0][0] == BLACK
    out = s.handle("resign")
    assert s.finished and s.result == "B+R" and "You resign" in out
    assert read(s.save(tmp_path / "r.sgf")).result == "B+R"

    s = PlaySession(_Resigner(), Rules(9))
    s.start()
    out = s.handle("C3")
    assert s.finished and s.result == "B+R" and "resigns; you win" in out


class _PasserWithOwnership:
    """Passes, and judges every point white's: a black stone left on the board is dead."""

    name = "passer"

    def genmove(self, position, color):
        return position.pass_move

    def ownership(self, position):
        return -np.ones(position.size * position.size)


def test_ownership_removes_dead_stones_from_the_score():
    s = PlaySession(_PasserWithOwnership(), Rules(9))
    s.start()
    s.handle("E5")
    out = s.handle("pass")
    assert s.finished and "Tromp-Taylor" in out and "B+73.5" in out  # E5 alone owns the board by area
    # scored like GTP final_score (games.go.scoring): E5 removed, and every point white's by the estimate
    assert "judges these stones dead: E5" in out and s.result == "W+88.5"


def test_hint_without_analysis_says_so_and_quit_stops():
    s = random_session()
    s.start()
    assert "cannot give hints" in s.handle("hint") and s.moves == []
    assert "Game stopped after 0 moves, no result" in s.handle("quit") and s.finished


def test_quit_and_end_of_input_save_the_game(tmp_path):
    out = io.StringIO()
    s = random_session(out=out)
    code = run_session(s, tmp_path / "sub" / "eof.sgf", stdin=io.StringIO("D4\nZZ\n"), stdout=out)
    text = out.getvalue()
    assert code == 0 and "Game stopped after 2 moves, no result" in text and "do not understand 'ZZ'" in text
    record = read(tmp_path / "sub" / "eof.sgf")
    assert record.result is None and record.num_moves == 2 and "end of input" in record.comment
    assert f"Game saved to {tmp_path / 'sub' / 'eof.sgf'}" in text
    assert not list((tmp_path / "sub").glob(".*tmp"))


def test_default_sgf_path_never_overwrites_a_saved_game(tmp_path):
    first = default_sgf_path(tmp_path / "play")
    assert first.parent == tmp_path / "play" and re.fullmatch(r"\d{8}-\d{6}\.sgf", first.name)
    random_session().save(first)
    second = default_sgf_path(tmp_path / "play")
    assert second != first and not second.exists()


# ---- the real command in a pseudo-terminal ------------------------------------------------------


class Terminal:
    """Our command on the slave side of a pty; reads the master side with select and timeouts."""

    def __init__(self, argv, cwd, stderr):
        self.master, slave = os.openpty()
        # as a shell does for a foreground job: Ctrl-C is not ignored, even when this test process was
        # started in the background (where a non-interactive shell ignores SIGINT, and exec keeps that)
        reset = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                 "os.execv(sys.argv[1], sys.argv[1:])")
        argv = [sys.executable, "-c", reset, *argv]
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=stderr, cwd=cwd,
                                     start_new_session=True, env={**os.environ, "TERM": "dumb"})
        os.close(slave)
        self.screen = ""
        self.seen = 0  # expect() looks only at text after what it already matched

    def send(self, line: str) -> None:
        os.write(self.master, (line + "\r").encode())  # Enter sends CR; the tty turns it into a newline

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.screen, self.seen)
            if m:
                text = self.screen[self.seen:m.end()]
                self.seen = m.end()
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the screen after {timeout}s; it ends with:\n"
                                     f"{self.screen[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the program exited and the pty closed
                    data = b""
                if not data and self.proc.poll() is not None:
                    raise AssertionError(f"the program exited before {pattern!r}; screen:\n{self.screen[-2000:]}")
                self.screen += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


def test_cli_game_in_a_pseudo_terminal(tmp_path, rlengine_cmd):
    out = tmp_path / "game.sgf"
    with open(tmp_path / "stderr.txt", "w") as err:
        term = Terminal(rlengine_cmd + ["play", "--opponent", "random", "--size", "9", "--seed", "1",
                                        "--sgf", str(out)], cwd=tmp_path, stderr=err)
    try:
        screen = term.expect(r"black 1> ", timeout=60)  # the first start may compile kernels
        assert "You play black" in screen and " 9 . . . . . . . . . 9" in screen
        term.send("hello")
        assert "I do not understand 'hello'" in term.expect(r"black 1> ")
        term.send("Z9")
        assert "Z9 is not a point on a 9x9 board" in term.expect(r"black 1> ")
        term.send("E5")
        screen = term.expect(r"black 3> ")
        reply = re.search(r"White \(agent\) plays ([A-HJ]\d)\.", screen).group(1)
        assert "Move 2; last move: white " + reply in screen and "(O)" in screen
        term.send("E5")
        assert "E5 is occupied" in term.expect(r"black 3> ")
        term.send("undo")
        screen = term.expect(r"black 1> ")
        assert f"Took back your E5 and the agent's {reply}" in screen and "Move 0;" in screen
        term.send("C3")
        term.expect(r"black 3> ")
        for _ in range(200):  # pass until the agent passes too
            term.send("pass")
            screen = term.expect(r"black \d+> |Result: \S+\.")
            if "Result:" in screen:
                break
        result = re.search(r"Result: (\S+)\.", screen).group(1)
        term.expect(r"Game saved to .*game\.sgf")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
    record = read(out)
    assert record.result == result and record.moves[0] == (BLACK, v("C3"))
    final = list(record.replay())[-1]
    assert final.is_over and final.result() == result


def test_cli_ctrl_c_still_saves_the_game(tmp_path, rlengine_cmd):
    out = tmp_path / "runs" / "interrupted.sgf"
    with open(tmp_path / "stderr.txt", "w") as err:
        term = Terminal(rlengine_cmd + ["play", "--opponent", "random", "--color", "white", "--seed", "2",
                                        "--sgf", str(out)], cwd=tmp_path, stderr=err)
    try:
        term.expect(r"white 2> ", timeout=60)  # the agent (black) opened
        term.send("D4")
        term.expect(r"white 4> ")
        term.proc.send_signal(signal.SIGINT)  # what Ctrl-C does in a terminal
        assert "no result" in term.expect(r"Game saved to .*interrupted\.sgf")
        assert term.proc.wait(timeout=30) == 130
    finally:
        term.close()
    record = read(out)
    assert record.num_moves == 3 and record.result is None and "Ctrl-C" in record.comment
    assert record.black_player == "random" and record.white_player == "human"
