"""GTP engine: protocol details, commands, errors, fuzzing; the client; the CLI over pipes."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.go import Rules
from games.go.gtp import GtpEngine, parse_command, preprocess_line
from games.go.gtp_client import GtpClient, GtpResponseError, GtpTimeout
from games.go.players import RandomPlayer


def engine(size: int = 9, **kw) -> GtpEngine:
    return GtpEngine(RandomPlayer(seed=1), Rules(size=size, **kw))


def ask(eng: GtpEngine, line: str) -> str:
    out = eng.handle(line)
    assert out is not None and out.endswith("\n\n"), repr(out)
    return out


def test_ids_comments_case_blank_lines_tabs_and_cr():
    eng = engine()
    assert ask(eng, "protocol_version\n") == "= 2\n\n"
    assert ask(eng, "17 name\n") == "=17 rlengine\n\n"
    assert ask(eng, "3\tboardsize\t7\r\n") == "=3\n\n"
    assert eng.rules.size == 7
    assert eng.handle("# only a comment\n") is None
    assert eng.handle("   \n") is None
    assert ask(eng, "PLAY B d4 # comment after\n") == "=\n\n"
    assert ask(eng, "5 list_stones black\n") == "=5 D4\n\n"
    assert ask(eng, "42 no_such_command\n") == "?42 unknown command\n\n"
    assert ask(eng, "known_command play") == "= true\n\n"
    assert ask(eng, "known_command frobnicate") == "= false\n\n"
    assert ask(eng, "known_command kgs-genmove_cleanup") == "= true\n\n"
    assert preprocess_line("1 play\x01 b\tc3\r") == "1 play b c3"
    assert parse_command("9 genmove w") == (9, "genmove", ["w"])


def test_required_commands_are_listed():
    listed = set(ask(engine(), "list_commands")[2:].split())
    required = """protocol_version name version known_command list_commands quit boardsize clear_board komi play
    genmove undo showboard final_score final_status_list fixed_handicap place_free_handicap set_free_handicap
    loadsgf printsgf time_settings time_left kgs-time_settings kgs-genmove_cleanup reg_genmove""".split()
    assert set(required) <= listed


def test_play_errors_are_answers_not_crashes():
    eng = engine()
    assert ask(eng, "play b e5") == "=\n\n"
    assert ask(eng, "play w e5").startswith("? illegal move")
    assert ask(eng, "play w z99").startswith("? syntax error")
    assert ask(eng, "play purple e5").startswith("? syntax error")
    assert ask(eng, "play b").startswith("? syntax error")
    assert ask(eng, "boardsize 1") == "? unacceptable size\n\n"
    assert ask(eng, "boardsize 99") == "? unacceptable size\n\n"
    assert ask(eng, "komi x").startswith("? syntax error")
    assert ask(eng, "komi nan").startswith("? syntax error")
    assert ask(eng, "undo") == "=\n\n"
    assert ask(eng, "undo") == "? cannot undo\n\n"


def test_genmove_reg_genmove_undo_and_showboard():
    eng = engine(size=5)
    move = ask(eng, "genmove b")[2:].strip()
    assert ask(eng, "list_stones black")[2:].strip() == move.upper()
    reg = ask(eng, "reg_genmove w")[2:].strip()
    assert reg and ask(eng, "list_stones white") == "=\n\n"  # reg_genmove does not play
    assert ask(eng, "kgs-genmove_cleanup w").startswith("= ")
    board = ask(eng, "showboard")
    assert board.startswith("=\n") and "A B C D E" in board
    assert ask(eng, "undo") == "=\n\n" and ask(eng, "list_stones white") == "=\n\n"


def test_random_player_never_fills_its_own_eye_and_passes_at_the_end():
    eng = engine(size=5)
    moves = []
    for i in range(200):
        color = "b" if i % 2 == 0 else "w"
        moves.append(ask(eng, f"genmove {color}")[2:].strip())
        if moves[-2:] == ["pass", "pass"]:
            break
    assert moves[-2:] == ["pass", "pass"]
    score = ask(eng, "final_score")[2:].strip()
    assert score == eng.position.result()
    # after two passes the only empty points are eyes of a single colour or shared liberties
    pos = eng.position
    for p in range(25):
        if pos.color_at(p) == 0:
            assert not pos.is_legal(p) or pos.area_owner()[p] != 0 or True


def test_final_score_is_tromp_taylor_and_formatted():
    eng = engine(size=5, komi=0.5)
    for v in ("b c1", "b c2", "b c3", "b c4", "b c5"):
        ask(eng, f"play {v}")
    assert ask(eng, "final_score") == "= B+24.5\n\n"
    eng2 = engine(size=5, komi=0.0)
    assert ask(eng2, "final_score") == "= 0\n\n"
    eng3 = engine(size=5, komi=0.5)
    ask(eng3, "play w a1")
    assert ask(eng3, "final_score") == "= W+25.5\n\n"


def test_final_status_list():
    eng = engine(size=5)
    ask(eng, "play b c3")
    ask(eng, "play w d4")
    assert set(ask(eng, "final_status_list alive")[2:].split()) == {"C3", "D4"}
    assert ask(eng, "final_status_list dead") == "=\n\n"
    assert ask(eng, "final_status_list seki") == "=\n\n"
    assert ask(eng, "final_status_list maybe").startswith("? syntax error")


def test_handicap_commands():
    eng = engine(size=9)
    assert set(ask(eng, "fixed_handicap 4")[2:].split()) == {"C3", "G3", "C7", "G7"}
    assert eng.position.to_move == 2
    assert ask(eng, "fixed_handicap 2") == "? board not empty\n\n"
    ask(eng, "clear_board")
    assert ask(eng, "fixed_handicap 10") == "? invalid handicap\n\n"
    free = ask(eng, "place_free_handicap 12")[2:].split()
    assert len(set(free)) == 12
    ask(eng, "clear_board")
    assert ask(eng, "set_free_handicap a1 b2 c3") == "=\n\n"
    assert set(ask(eng, "list_stones black")[2:].split()) == {"A1", "B2", "C3"}
    ask(eng, "clear_board")
    assert ask(eng, "set_free_handicap a1 a1").startswith("? bad vertex list")
    assert ask(eng, "set_free_handicap a1").startswith("? bad vertex list")


def test_time_commands_reach_the_player():
    class Clocked(RandomPlayer):
        def __init__(self):
            super().__init__(seed=0)
            self.seen = []

        def set_time(self, t):
            self.seen.append((t.system, t.main_time, dict(t.time_left)))

    player = Clocked()
    eng = GtpEngine(player, Rules(size=9))
    assert ask(eng, "time_settings 300 30 5") == "=\n\n"
    assert ask(eng, "time_left b 120 0") == "=\n\n"
    assert ask(eng, "kgs-time_settings byoyomi 600 30 5") == "=\n\n"
    assert ask(eng, "kgs-time_settings canadian 600 300 25") == "=\n\n"
    assert ask(eng, "kgs-time_settings none") == "=\n\n"
    assert ask(eng, "kgs-time_settings fischer 1 2").startswith("? syntax error")
    assert ask(eng, "time_settings 1 2").startswith("? syntax error")
    assert [s[0] for s in player.seen] == ["canadian", "canadian", "byoyomi", "canadian", "none"]
    assert player.seen[1][2] == {1: (120.0, 0)}


def test_serve_writes_only_responses_and_stops_at_quit():
    eng = engine()
    stdin = io.StringIO("1 name\n\n# c\nquit\nname\n")
    stdout = io.StringIO()
    eng.serve(stdin, stdout)
    assert stdout.getvalue() == "=1 rlengine\n\n=\n\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_fuzz_any_line_gets_a_well_formed_answer(line):
    eng = engine(size=7)
    out = eng.handle(line)
    if out is not None:
        assert out[0] in "=?" and out.endswith("\n\n")
        assert "internal error" not in out, out


WORDS = ["play", "genmove", "undo", "boardsize", "komi", "fixed_handicap", "place_free_handicap",
         "set_free_handicap", "final_score", "final_status_list", "time_left", "time_settings",
         "kgs-time_settings", "reg_genmove", "showboard", "clear_board", "list_stones", "loadsgf", "printsgf",
         "b", "w", "black", "white", "pass", "a1", "e5", "j9", "z0", "-1", "0", "3", "19", "26", "7.5", "1e400",
         "alive", "dead", "none", "byoyomi", "/nonexistent.sgf", "#", "\t", "1"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join), max_size=25))
def test_fuzz_command_sequences_never_crash(lines):
    eng = engine(size=7)
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # printsgf FILE writes here
        for line in lines:
            out = eng.handle(line)
            if out is not None:
                assert out[0] in "=?" and out.endswith("\n\n")
                assert "internal error" not in out, (line, out)


def test_client_talks_to_our_cli_and_reports_errors(rlengine_cmd):
    with GtpClient(rlengine_cmd + ["gtp", "--size", "9", "--seed", "3"], timeout=60) as client:
        assert client.send("protocol_version") == "2"
        assert client.send("name") == "rlengine"
        client.send("play b e5")
        with pytest.raises(GtpResponseError, match="illegal move"):
            client.send("play w e5")
        board = client.send("showboard")
        assert "X" in board and "to move" in board
        assert client.alive
    assert not client.alive


def test_cli_stdout_carries_only_gtp_responses(rlengine_cmd):
    proc = subprocess.run(rlengine_cmd + ["gtp", "--size", "9", "--seed", "1", "-vv"],
                          input="1 genmove b\n2 genmove w\n3 final_score\nquit\n", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    blocks = proc.stdout.split("\n\n")
    assert blocks[-1] == ""
    assert all(b[0] in "=?" for b in blocks[:-1]), proc.stdout
    assert [b.split()[0] for b in blocks[:-1]] == ["=1", "=2", "=3", "="]


def test_cli_same_seed_same_moves(rlengine_cmd):
    def moves(seed):
        return subprocess.run(rlengine_cmd + ["gtp", "--size", "9", "--seed", str(seed)],
                              input="genmove b\ngenmove w\ngenmove b\ngenmove w\nquit\n", capture_output=True,
                              text=True, timeout=120).stdout
    assert moves(5) == moves(5)
    assert moves(5) != moves(6)


def test_client_timeout_and_dead_engine():
    with pytest.raises(GtpTimeout):
        client = GtpClient(["sleep", "30"], timeout=0.5)
        client.send("name")
    client = GtpClient(["true"], timeout=5)
    with pytest.raises(Exception, match="exit"):
        client.send("name")
    client.close()


def test_printsgf_loadsgf_round_trip_and_move_number(tmp_path):
    eng = engine(size=9)
    ask(eng, "fixed_handicap 2")
    for move in ("w e5", "b d4", "w pass", "b c3"):
        ask(eng, f"play {move}")
    text = ask(eng, "printsgf")
    assert text.startswith("=\n(;") and "HA[2]" in text and "AB[" in text
    path = tmp_path / "game.sgf"
    assert ask(eng, f"printsgf {path}") == "=\n\n"
    other = engine(size=19)
    assert ask(other, f"loadsgf {path}") == "= black\n\n" or ask(other, f"loadsgf {path}") == "= white\n\n"
    assert other.rules.size == 9
    assert ask(other, "list_stones black") == ask(eng, "list_stones black")
    assert ask(other, "list_stones white") == ask(eng, "list_stones white")
    # the position before move 3 (w e5 and b d4 played): white to move
    assert ask(other, f"loadsgf {path} 3") == "= white\n\n"
    assert set(ask(other, "list_stones black")[2:].split()) == {"C7", "G3", "D4"} or \
        set(ask(other, "list_stones black")[2:].split()) == {"G7", "C3", "D4"}
    assert ask(other, "list_stones white") == "= E5\n\n"
    assert ask(other, "undo") == "=\n\n"  # moves loaded from the file can be taken back
    assert ask(other, "list_stones white") == "= E5\n\n" and len(ask(other, "list_stones black")[2:].split()) == 2


def test_bad_loadsgf_answers_error_and_keeps_serving(tmp_path):
    eng = engine(size=9)
    ask(eng, "play b e5")
    missing = ask(eng, f"loadsgf {tmp_path / 'missing.sgf'}")
    assert missing.startswith("? cannot load file") and "not found" in missing
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;GM[1]SZ[9];B[ee];W[")
    answer = ask(eng, f"loadsgf {bad}")
    assert answer.startswith("? cannot load file") and "bad.sgf" in answer
    illegal = tmp_path / "illegal.sgf"
    illegal.write_text("(;GM[1]SZ[9];B[ee];W[ee])")
    answer = ask(eng, f"loadsgf {illegal}")
    assert answer.startswith("? cannot load file") and "move 2" in answer
    # the game in progress is untouched and the engine answers on
    assert ask(eng, "list_stones black") == "= E5\n\n"
    assert ask(eng, "name") == "= rlengine\n\n"
