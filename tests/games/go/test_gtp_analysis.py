"""GTP analysis: lz-analyze / lz-genmove_analyze streamed over real pipes, the Leela Zero line
grammar Lizzie and Sabaki parse, and final_score / final_status_list from an ownership estimate.

The analysing player here is a small but honest flat Monte-Carlo search built from the engine's
own parts: every root move gets random playouts (``_core.playout``, seeded), moves are chosen by
UCB1, and visit counts, win rates, the first reply (the pv's second move) and the ownership map
all come from those playouts.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.go import BLACK, WHITE, Position, Rules, _core, coords, scoring
from games.go.gtp import GtpEngine, lz_info_line
from games.go.player import Analysis, MoveInfo
from games.go.players import RandomPlayer


class FlatMonteCarlo:
    """Flat Monte-Carlo with UCB1 over the root's legal moves (the Analysis protocol of players.py)."""

    name = "flat-mc"

    def __init__(self, seed: int = 0, visits: int = 300, batch: int = 8):
        self.rng = _core.seed_rng(seed)
        self.visits = visits
        self.batch = batch

    def _playout(self, position: Position, move: int, color: int, stats: dict) -> tuple[float, np.ndarray]:
        child = position.play(move, color)
        reply = child.random_move(self.rng)
        stats.setdefault(move, {}).setdefault(reply, 0)
        stats[move][reply] += 1
        child = child.play(reply)
        s, g = child._s.copy(), child._g.copy()
        geo = child._geo
        area, _ = _core.playout(s, g, geo.nbr, geo.num_nbr, geo.diag, geo.num_diag, geo.zob, self.rng,
                                3 * position.pass_move)
        score = float(area) - position.rules.komi
        win = 1.0 if (score > 0) == (color == BLACK) and score != 0 else 0.0
        owner = _core.area_owner(s)
        return win, np.where(owner == BLACK, 1.0, np.where(owner == WHITE, -1.0, 0.0))

    def analyze(self, position, color, *, visits=None, seconds=None, stop=None, callback=None, interval=1.0):
        if visits is None and seconds is None and stop is None:
            raise ValueError("analyze needs a budget (visits, seconds) or a stop event")
        moves = [m for m in position.legal_moves(color)]
        n = np.zeros(len(moves))
        w = np.zeros(len(moves))
        owner_sum = np.zeros(position.pass_move)
        replies: dict = {}
        start = last = time.monotonic()

        def snapshot() -> Analysis:
            infos = []
            for i in np.argsort(-n, kind="stable"):
                if n[i] == 0:
                    break
                move = moves[i]
                best_reply = max(replies[move].items(), key=lambda kv: kv[1])[0]
                infos.append(MoveInfo(move, int(n[i]), float(w[i] / n[i]), 1.0 / len(moves), (move, best_reply)))
            total = int(n.sum())
            return Analysis(color, tuple(infos), total, float(w.sum() / max(total, 1)),
                            owner_sum / max(total, 1) if total else None)

        while True:
            if stop is not None and stop.is_set():
                break
            if visits is not None and n.sum() >= visits:
                break
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            for _ in range(self.batch):
                total = n.sum()
                ucb = np.where(n > 0, w / np.maximum(n, 1) + math.sqrt(2) * np.sqrt(np.log(total + 1) /
                                                                                      np.maximum(n, 1)), np.inf)
                i = int(np.argmax(ucb))
                win, owner = self._playout(position, moves[i], color, replies)
                n[i] += 1
                w[i] += win
                owner_sum += owner
            now = time.monotonic()
            if callback is not None and now - last >= interval:
                callback(snapshot())
                last = now
        return snapshot()

    def genmove_analyze(self, position, color, *, callback=None, interval=1.0):
        result = self.analyze(position, color, visits=self.visits, callback=callback, interval=interval)
        return result.moves[0].move

    def genmove(self, position, color):
        return self.genmove_analyze(position, color)

    def ownership(self, position):
        return self.analyze(position, position.to_move, visits=self.visits).ownership


# ---- the Leela Zero grammar -------------------------------------------------------------------

VERTEX = r"(?:[A-HJ-Z](?:[1-9]|1[0-9]|2[0-5])|pass)"
INFO = (rf"info move (?P<move>{VERTEX}) visits (?P<visits>\d+) winrate (?P<winrate>\d+) prior (?P<prior>\d+) "
        rf"lcb (?P<lcb>\d+) order (?P<order>\d+) pv (?P<pv>{VERTEX}(?: {VERTEX})*)")
UNNAMED = re.sub(r"\(\?P<\w+>", "(", INFO)
LINE = re.compile(rf"{UNNAMED}(?: {UNNAMED})*")
ONE = re.compile(INFO)


def parse_info_line(line: str, size: int) -> list[dict]:
    """Check one update line strictly and return its moves."""
    assert LINE.fullmatch(line), f"not a Leela Zero info line: {line!r}"
    moves = [m.groupdict() for m in ONE.finditer(line)]
    assert [int(m["order"]) for m in moves] == list(range(len(moves)))
    visits = [int(m["visits"]) for m in moves]
    assert all(v > 0 for v in visits) and visits == sorted(visits, reverse=True)
    assert len({m["move"] for m in moves}) == len(moves)
    for m in moves:
        for key in ("winrate", "prior", "lcb"):
            assert 0 <= int(m[key]) <= 10000
        assert int(m["lcb"]) <= int(m["winrate"])
        pv = m["pv"].split()
        assert pv[0] == m["move"]
        for vertex in pv:
            coords.from_gtp(vertex, size)  # a vertex of this board
    return moves


# ---- driving serve() over real pipes ------------------------------------------------------------

class Session:
    """``GtpEngine.serve`` on a thread, talking through two OS pipes."""

    def __init__(self, engine: GtpEngine):
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        self._stdin_engine = os.fdopen(in_r, "r")
        self._stdout_engine = os.fdopen(out_w, "w")
        self.stdin = os.fdopen(in_w, "w")
        self._stdout = os.fdopen(out_r, "r")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.engine = engine
        self.server = threading.Thread(target=self._serve, daemon=True)
        self.server.start()
        threading.Thread(target=self._read, daemon=True).start()

    def _serve(self) -> None:
        try:
            self.engine.serve(self._stdin_engine, self._stdout_engine)
        finally:
            self._stdout_engine.close()

    def _read(self) -> None:
        for line in self._stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.stdin.write(text + "\n")
        self.stdin.flush()

    def line(self) -> str:
        got = self.lines.get(timeout=30)  # a guard against a hang, not a timing assertion
        assert got is not None, "the engine closed its output"
        return got

    def response(self) -> list[str]:
        """The lines of one complete response (its terminating blank line removed)."""
        out = [self.line()]
        while out[-1] != "":
            out.append(self.line())
        return out[:-1]

    def ask(self, command: str) -> list[str]:
        self.send(command)
        return self.response()

    def close(self) -> None:
        self.stdin.close()
        self.server.join(timeout=30)
        assert not self.server.is_alive()


@pytest.fixture
def session():
    sessions = []

    def make(player=None, size: int = 9, komi: float = 7.5) -> Session:
        s = Session(GtpEngine(player or FlatMonteCarlo(seed=7), Rules(size=size, komi=komi)))
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        if not s.stdin.closed:
            s.close()


def wait_for_updates(sess: Session, count: int, size: int) -> list[list[dict]]:
    updates = []
    while len(updates) < count:
        line = sess.line()
        assert line != "", "the analysis ended before it was stopped"
        updates.append(parse_info_line(line, size))
    return updates


def test_lz_analyze_streams_until_the_next_command_then_answers_it(session):
    sess = session()
    assert sess.ask("1 play b e5") == ["=1"]
    sess.send("2 lz-analyze w 2")
    assert sess.line() == "=2"
    updates = wait_for_updates(sess, 4, 9)
    totals = [sum(int(m["visits"]) for m in u) for u in updates]
    assert totals == sorted(totals) and totals[-1] > totals[0]  # the search goes on between updates
    assert all("E5" not in {m["move"] for m in u} for u in updates)  # occupied point never analysed
    sess.send("3 name")
    rest = sess.response()  # info lines still in flight, then the blank line that ends lz-analyze
    for line in rest:
        parse_info_line(line, 9)
    assert sess.response() == ["=3 rlengine"]
    # analysis commits nothing and the engine answers normally afterwards
    assert sess.ask("4 list_stones white") == ["=4"]
    assert sess.ask("5 list_stones black") == ["=5 E5"]
    sess.close()


def test_lz_analyze_argument_forms_and_empty_line_stop(session):
    sess = session(size=7)
    for command in ("lz-analyze 2", "lz-analyze B 2", "lz-analyze b interval 2", "lz-analyze interval 2 minmoves 3",
                    "lz-analyze white 2 maxmoves 9"):
        sess.send(command)
        assert sess.line() == "="
        wait_for_updates(sess, 2, 7)
        sess.send("")  # any input line stops the analysis, even an empty one
        for line in sess.response():
            parse_info_line(line, 7)
    # interval 0 (or none): a silent search, still ended by the next line
    sess.send("lz-analyze b")
    assert sess.line() == "="
    sess.send("7 protocol_version")
    assert sess.line() == ""
    assert sess.response() == ["=7 2"]
    # errors are plain answers before any search starts
    assert sess.ask("8 lz-analyze purple 10")[0].startswith("?8 syntax error")
    assert sess.ask("9 lz-analyze b -5")[0].startswith("?9 syntax error")
    assert sess.ask("10 lz-analyze b 10 avoid b d4 1") == ["?10 avoid is not supported"]
    assert sess.ask("11 lz-analyze b 10 interval") == ["?11 syntax error: interval needs a number"]
    sess.close()


def test_lz_genmove_analyze_streams_then_plays_and_commits(session):
    sess = session(FlatMonteCarlo(seed=3, visits=1500), size=7)  # thinks well past one 10 ms interval
    sess.send("4 lz-genmove_analyze b 1")
    assert sess.line() == "=4"
    lines = sess.response()
    assert len(lines) >= 2 and re.fullmatch(rf"play {VERTEX}", lines[-1]), lines
    updates = [parse_info_line(line, 7) for line in lines[:-1]]
    assert updates, "no info line while thinking"
    move = lines[-1].split()[1]
    assert sess.ask("list_stones black") == [f"= {move}"]  # the move was played
    assert sess.ask("genmove w")[0].startswith("= ")  # the game goes on
    silent = sess.ask("lz-genmove_analyze w")  # interval 0: no info lines, just the move
    assert len(silent) == 2 and silent[0] == "=" and re.fullmatch(rf"play {VERTEX}", silent[1]), silent
    assert sess.ask("lz-genmove_analyze 1")[0].startswith("? syntax error")  # a colour is required
    sess.close()


def test_quit_and_end_of_input_stop_the_analysis(session):
    sess = session(size=5)
    sess.send("lz-analyze 1")
    assert sess.line() == "="
    wait_for_updates(sess, 1, 5)
    sess.send("99 quit")
    for line in sess.response():
        parse_info_line(line, 5)
    assert sess.response() == ["=99"]
    sess.server.join(timeout=30)
    assert not sess.server.is_alive()
    sess.stdin.close()

    sess = session(size=5)
    sess.send("lz-analyze 1")
    assert sess.line() == "="
    wait_for_updates(sess, 1, 5)
    sess.close()  # EOF stops the search and ends serve()


def test_analysis_commands_exist_only_for_players_that_can_analyze():
    plain = GtpEngine(RandomPlayer(seed=1), Rules(size=9))
    listed = plain.handle("list_commands")
    assert "lz-analyze" not in listed and "lz-genmove_analyze" not in listed and "kgs-genmove_cleanup" in listed
    assert plain.handle("known_command lz-analyze") == "= false\n\n"
    assert plain.handle("3 lz-analyze 10") == "?3 unknown command\n\n"
    assert plain.handle("lz-genmove_analyze b 10") == "? unknown command\n\n"
    mc = GtpEngine(FlatMonteCarlo(seed=1), Rules(size=9))
    listed = mc.handle("list_commands")[2:].split()
    assert {"lz-analyze", "lz-genmove_analyze", "kgs-genmove_cleanup", "final_status_list"} <= set(listed)
    assert mc.handle("known_command lz-genmove_analyze") == "= true\n\n"


def test_handle_runs_lz_analyze_for_one_interval():
    eng = GtpEngine(FlatMonteCarlo(seed=2), Rules(size=5))
    out = eng.handle("6 lz-analyze b 2")
    head, *body = out.split("\n")
    assert head == "=6" and out.endswith("\n\n")
    lines = [line for line in body if line]
    assert lines and all(parse_info_line(line, 5) for line in lines)
    assert eng.handle("lz-analyze b") == "=\n\n"  # interval 0: nothing to show


def test_info_line_format_from_an_analysis():
    size = 9
    d4, c3, q = coords.from_gtp("D4", size), coords.from_gtp("C3", size), coords.from_gtp("E5", size)
    analysis = Analysis(BLACK, (MoveInfo(q, 3, 0.25, 0.5, (q,)), MoveInfo(d4, 12, 0.5321, 0.1234, (d4, c3)),
                                MoveInfo(c3, 0, 0.9, 0.2, (c3,))), 15, 0.5)
    line = lz_info_line(analysis, size)
    moves = parse_info_line(line, size)
    assert [m["move"] for m in moves] == ["D4", "E5"]  # by visits, unvisited moves left out
    assert moves[0]["winrate"] == "5321" and moves[0]["prior"] == "1234" and moves[0]["pv"] == "D4 C3"
    assert int(moves[0]["lcb"]) < 5321 and int(moves[1]["lcb"]) < int(moves[0]["lcb"])
    assert line.count("info move") == 2 and "\n" not in line  # one line per update, as Leela Zero writes it
    assert lz_info_line(Analysis(WHITE, (), 0, 0.5), size) == ""


WORDS = ["lz-analyze", "lz-genmove_analyze", "b", "w", "white", "0", "1", "-1", "x", "interval", "minmoves",
         "maxmoves", "avoid", "allow", "play", "pass", "e5", "undo", "final_score", "final_status_list", "dead"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join), max_size=8))
def test_fuzz_analysis_commands_answer_well_formed(lines):
    eng = GtpEngine(FlatMonteCarlo(seed=4, visits=40), Rules(size=5))
    for line in lines:
        out = eng.handle(line)
        if out is None:
            continue
        assert out[0] in "=?" and out.endswith("\n\n") and "internal error" not in out, (line, out)
        if out[0] == "=" and line.split()[0] in ("lz-analyze", "lz-genmove_analyze"):
            body = out.split("\n")[1:-2]
            for text in body[:-1] if line.startswith("lz-genmove") else body:
                parse_info_line(text, 5)
            if line.startswith("lz-genmove"):
                assert re.fullmatch(rf"play {VERTEX}", body[-1]), out


# ---- scoring with ownership -------------------------------------------------------------------

FINISHED = """
. . . . X O . . .
. X O X X O . . .
. . X . X O . . .
. . . . X O . . .
. . . . X O . . .
. . . . X O . . .
. . . . X O . . .
. . . . X O . . .
. . . . X O . . .
"""  # white C8 is dead inside black's area (in atari, no room); black owns A-E, white F-J


def test_ownership_scoring_unit():
    pos = Position.from_ascii(FINISHED, Rules(size=9, komi=7.5))
    own = np.where(np.arange(81) % 9 < 5, 1.0, -1.0)  # an estimate that gives the left five columns to black
    c8 = coords.from_gtp("C8", 9)
    assert scoring.dead_stones(pos, own) == [c8]
    assert scoring.score_with_ownership(pos, own) == 45 - 36 - 7.5
    assert pos.score() < 0  # Tromp-Taylor without removal: the dead stone spoils black's area
    # a region that still reaches both colours counts only where the estimate is clear
    open_pos = Position.from_ascii("X . . O\n. . . .\n. . . .\nX . . O", Rules(size=4, komi=0))
    grad = np.tile([1.0, 0.6, -0.2, -1.0], 4)
    assert scoring.score_with_ownership(open_pos, grad) == 8 - 4
    with pytest.raises(ValueError, match="shape"):
        scoring.dead_stones(pos, np.zeros(80))


def test_final_status_list_and_final_score_from_playout_ownership():
    eng = GtpEngine(FlatMonteCarlo(seed=11, visits=400), Rules(size=9, komi=7.5))
    eng.position = Position.from_ascii(FINISHED, eng.rules, to_move=BLACK)
    assert eng.handle("final_status_list dead") == "= C8\n\n"
    alive = eng.handle("final_status_list alive")[2:].split()
    assert len(alive) == len(np.flatnonzero(eng.position.stones())) - 1 and "C8" not in alive
    assert eng.handle("final_status_list seki") == "=\n\n"
    assert eng.handle("final_score") == "= B+1.5\n\n"  # 45 - 36 - 7.5, as a person counts it
    calls = []
    eng.player.ownership = lambda pos: calls.append(pos) or FlatMonteCarlo.ownership(eng.player, pos)
    assert eng.handle("final_status_list dead") == "= C8\n\n" and calls == []  # one estimate per position
    eng.handle("play b pass")
    assert eng.handle("final_status_list dead") == "= C8\n\n" and len(calls) == 1  # a new position: a new one
    plain = GtpEngine(RandomPlayer(seed=1), Rules(size=9, komi=7.5))
    plain.position = eng.position
    assert plain.handle("final_status_list dead") == "=\n\n"  # without ownership: Tromp-Taylor, all alive
    assert plain.handle("final_score") == f"= {eng.position.result()}\n\n" != "= B+1.5\n\n"


def test_flat_monte_carlo_sees_the_capture():
    """The analysing player used above is a real search: it finds the one capturing move."""
    pos = Position.from_ascii("""
. . . . .
. X O X .
. . X . .
. . . . .
. . . . .""", Rules(size=5, komi=0.5), to_move=BLACK)  # white C4 is in atari: C5 captures it
    player = FlatMonteCarlo(seed=5, visits=600)
    result = player.analyze(pos, BLACK, visits=600)
    capture = coords.from_gtp("C5", 5)
    assert result.moves[0].move == capture
    assert sum(m.visits for m in result.moves) == result.visits == 600
    assert result.ownership is not None and result.ownership.shape == (25,)
