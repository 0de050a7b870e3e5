"""The AlphaGo MCTS player: search beats the raw policy on a tactical position, leaf values are
for the right side, tree reuse across moves, resignation, the player spec, batched self-play."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from agents.alphago import SLRunConfig
from agents.alphago.mcts import GoEvaluator, MCTSOptions, MCTSPlayer, make_mcts_player, net_function
from agents.alphago.nets import PolicyValueResNet, build_policy_net
from agents.alphago.players import PolicyPlayer
from agents.alphago.selfplay import MCTSSelfPlay
from agents.alphago.checkpoint import save_policy
from games.go import coords
from games.go.board import BLACK, WHITE, Position, Rules
from rlengine.config import load_config
from rlengine.search import SearchConfig

RULES9 = Rules(size=9, komi=7.5)

# A settled 9x9 board (both big groups have eyes) with one fight in the lower left.  The white chain
# A4-D4, D3-D1 has one liberty (E1); so has the black chain A3-C3, C2, C1 (B1).  Black to move must capture
# at E1 (black then wins by 1.5); A1 or B1 lets white capture at B1 and win.  White to move saves its chain
# at E1 or captures at B1.
CAPTURE_OR_BE_CAPTURED = """
. X . X X O O O .
X X X X X O . O O
. X . X X O O . O
X X X X X O . O O
X X X X X O O . O
O O O O X O . O O
X X X O X O O O .
O O X O X O . O O
. . X O . O O O .
"""


@pytest.fixture(scope="module")
def untrained9(tmp_path_factory):
    """An untrained 3x16 policy CNN for 9x9 on the AlphaGo Zero planes (stones and history only, no
    capture features), saved as an alphago checkpoint: priors that know nothing about tactics."""
    cfg = load_config(SLRunConfig, "configs/go9_sl.toml",
                      overrides=["network.filters=16", "network.layers=3", 'network.encoder="agz17"',
                                 'run.device="cpu"'])
    torch.manual_seed(0)
    net = build_policy_net(cfg.network, 9)
    return save_policy(cfg, net, tmp_path_factory.mktemp("mcts") / "checkpoints")


def test_search_finds_the_capture_the_raw_policy_misses(untrained9):
    pos = Position.from_ascii(CAPTURE_OR_BE_CAPTURED, RULES9, to_move=BLACK)
    e1 = coords.from_gtp("E1", 9)
    raw = PolicyPlayer(untrained9).genmove(pos, BLACK)
    assert raw != e1, "the untrained policy should not find the capture by itself"
    player = MCTSPlayer(untrained9, MCTSOptions(sims=100, batch=8), seed=3)
    move = player.genmove(pos, BLACK)
    assert move == e1
    info = player._analysis(BLACK)
    assert info.moves[0].move == e1 and info.moves[0].winrate > 0.8
    assert all(m.winrate < 0.3 for m in info.moves[1:] if m.visits >= 5)  # the rest lose
    # white to move in the same position saves its chain or captures first
    white = player.genmove(pos.with_to_move(WHITE), WHITE)
    assert white in (e1, coords.from_gtp("B1", 9))
    assert player._analysis(WHITE).winrate > 0.8


# A finished 9x9 board (every empty point an eye) with two dead black stones, H5 H6, in white's area
# (their one liberty H4 is white's to fill).  Tromp-Taylor as the board stands: black 44 + 2 stones,
# white 37 - 3 (H4 touches both) -> B+4.5 with komi 7.5.  With the dead stones removed: 44 - 37 -> W+0.5
# (GNU Go 3.8 --chinese-rules: final_score W+0.5, final_status_list dead H6 H5).
DEAD_IN_WHITES_AREA = """
X X X X O O O O O
X . X X X O . O O
X X X X X O O O O
X X X X X O O X O
X X X . X O O X O
X X X X X O O . O
X X X X X O O O O
X . X X X O . O O
X X X X X O O O O
"""


def test_leaf_values_are_for_the_player_to_move():
    pos = Position.from_ascii(DEAD_IN_WHITES_AREA, RULES9, to_move=BLACK)
    assert pos.score() == 4.5  # Tromp-Taylor with the dead stones counted
    net = PolicyValueResNet(17, 9).eval()
    ev = GoEvaluator(size=9, encoder="agz17", net_fn=net_function(net, torch.device("cpu")), lam=1.0, seed=0)
    ev.set_roots([pos])
    paths = np.array([[81, 81, 0], [81, 0, 0], [81, 81, 0]], np.int32)
    res = ev(np.zeros(3, np.int64), paths, np.array([2, 1, 2], np.int32), np.array([True, True, False]))
    assert res.terminal.tolist() == [True, False, True]
    # two passes (scoring=tromp-taylor, the evaluator's default): black to move again, and black won B+4.5
    assert res.values[0] == 1.0 and res.values[2] == 1.0
    # white to move after one pass: one rollout, and every playout from here ends the same way: the only
    # moves left are white's capture at H4 and black's throw-ins into the space it leaves -> W+0.5, a
    # win for white (a value for the wrong side, or a playout that does not play, gives -1)
    assert res.values[1] == 1.0
    # priors over the legal moves plus pass, from the policy-value net's own pass logit
    assert res.priors[1].sum() == pytest.approx(1.0, abs=1e-5) and res.priors[1, 81] > 0
    assert (res.priors[1][~res.legal[1]] == 0).all()
    with pytest.raises(ValueError, match="value head"):
        GoEvaluator(size=9, encoder="alphago48", net_fn=lambda x: (x, None), lam=0.5)


def test_tree_is_reused_after_the_opponents_reply(untrained9):
    player = MCTSPlayer(untrained9, MCTSOptions(sims=120, batch=8), seed=1)
    pos = Position.empty(RULES9)
    move = player.genmove(pos, BLACK)
    pos = pos.play(move)
    node = player.forest.child(0, move)
    lo = player.forest.first_child[node]
    sub = {int(player.forest.action[c]): int(player.forest.visits[c])
           for c in range(lo, lo + player.forest.num_children[node])}
    reply = max(sub, key=sub.get)  # the reply the search looked at most
    expected = sub[reply]
    pos = pos.play(reply)
    player._root_at(pos)
    assert player.forest.root_visits(0) == expected > 0  # the subtree under (move, reply) was kept
    # an unrelated position starts afresh
    player._root_at(Position.from_ascii(CAPTURE_OR_BE_CAPTURED, RULES9))
    assert player.forest.root_visits(0) == 0


def test_tree_is_reused_in_games_played_in_place(untrained9):
    """The match runner and play_game play moves in place (no parent chain): the player still finds
    its own move and the reply and keeps that subtree."""
    player = MCTSPlayer(untrained9, MCTSOptions(sims=120, batch=8), seed=1)
    pos = Position.empty(RULES9)
    move = player.genmove(pos, BLACK)
    node = player.forest.child(0, move)
    lo = player.forest.first_child[node]
    sub = {int(player.forest.action[c]): int(player.forest.visits[c])
           for c in range(lo, lo + player.forest.num_children[node])}
    reply = max(sub, key=sub.get)
    pos.play(move, inplace=True)
    pos.play(reply, inplace=True)
    assert pos.parent is None
    player._root_at(pos)
    assert player.forest.root_visits(0) == sub[reply] > 0


def test_resigns_a_lost_game_and_plays_on_otherwise(untrained9):
    rows = ["O O O O O O O O O"] * 4 + [". . . . . . . . ."] + ["O O O O O O O O O"] * 4
    lost = Position.from_ascii("\n".join(rows), RULES9, to_move=BLACK)
    player = MCTSPlayer(untrained9, MCTSOptions(sims=100, resign=0.1), seed=0)
    assert player.genmove(lost, BLACK) is None
    never = MCTSPlayer(untrained9, MCTSOptions(sims=100, resign=0.0), seed=0)
    assert never.genmove(lost, BLACK) is not None


def test_player_spec(untrained9):
    from rlengine.registry import load_player

    p = load_player(f"mcts:{untrained9},sims=7,lambda=1,c_puct=2.5,batch=4", seed=0)
    assert isinstance(p, MCTSPlayer) and p.options.sims == 7 and p.config.c_puct == 2.5
    assert p.config.leaves_per_tree == 4
    with pytest.raises(ValueError, match="unknown option 'simulations'"):
        make_mcts_player(f"{untrained9},simulations=5")
    with pytest.raises(ValueError, match="sims must be an integer"):
        make_mcts_player(f"{untrained9},sims=many")
    with pytest.raises(ValueError, match="value head"):
        make_mcts_player(f"{untrained9},lambda=0.5")
    with pytest.raises(ValueError, match="needs a checkpoint"):
        make_mcts_player("")
    with pytest.raises(Exception, match="nonexistent"):
        make_mcts_player("/nonexistent/run")


def test_selfplay_batches_many_games_and_finishes_them():
    torch.manual_seed(0)
    net = PolicyValueResNet(17, 5, filters=8, blocks=1).eval()
    calls = []
    fn = net_function(net, torch.device("cpu"))

    def counted(x):
        calls.append(len(x))
        return fn(x)

    counted.has_value = True
    sp = MCTSSelfPlay(counted, encoder="agz17", rules=Rules(size=5, komi=0.5), num_games=4, sims=16,
                      config=SearchConfig(leaves_per_tree=4), lam=0.0, seed=0, max_moves=70)
    records = []
    for _ in range(75):
        records += sp.play_move()
    assert len(records) >= 4
    assert max(calls) > 4  # leaves of several games in one network call
    ended_by_passes = 0
    for rec in records:
        pos = Position.empty(Rules(size=5, komi=0.5))
        for node in rec.nodes:
            pos = pos.play(node.move.point, node.move.color)  # every move legal, colours alternate
        passes = [node.move.point == 25 for node in rec.nodes]
        if len(rec.nodes) < 70:  # a game stops at two passes, or at the cap (max_moves=70) and not before
            assert passes[-2:] == [True, True] and not any(a and b for a, b in zip(passes[:-2], passes[1:-1]))
            ended_by_passes += 1
        else:
            assert len(rec.nodes) == 70
        # the result, counted here without the engine's scoring code: Tromp-Taylor area minus komi
        assert rec.result == _result(_tromp_taylor(pos.stones(), 5) - 0.5), rec.result
    assert ended_by_passes >= 1


def _tromp_taylor(stones: np.ndarray, size: int) -> int:
    """Black minus white area (stones, plus empty regions that reach one colour only), by flood fill."""
    seen = np.zeros(size * size, bool)
    score = int(np.count_nonzero(stones == BLACK)) - int(np.count_nonzero(stones == WHITE))
    for start in range(size * size):
        if stones[start] != 0 or seen[start]:
            continue
        region, reach, stack = 0, set(), [start]
        seen[start] = True
        while stack:
            p = stack.pop()
            region += 1
            r, c = divmod(p, size)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < size and 0 <= cc < size:
                    q = rr * size + cc
                    if stones[q] != 0:
                        reach.add(int(stones[q]))
                    elif not seen[q]:
                        seen[q] = True
                        stack.append(q)
        if reach == {BLACK}:
            score += region
        elif reach == {WHITE}:
            score -= region
    return score


def _result(score: float) -> str:
    return "0" if score == 0 else (f"B+{score:g}" if score > 0 else f"W+{-score:g}")


def _read_until(proc, predicate, timeout: float = 60.0) -> list[str]:
    """Lines from the engine's stdout until ``predicate(line)`` (a reader thread enforces the timeout)."""
    import queue
    import threading

    q: queue.Queue = queue.Queue()

    def pump():
        q.put(proc.stdout.readline())

    lines = []
    while True:
        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"engine went silent; so far: {lines[-5:]}") from None
        if line == "":
            raise AssertionError(f"engine closed its output; so far: {lines[-5:]}")
        lines.append(line.rstrip("\n"))
        if predicate(lines[-1]):
            return lines


def _setup_sgf(text: str, path, komi: float = 7.5):
    """An SGF file with the stones of an ASCII board as setup (AB/AW), black to move."""
    pos = Position.from_ascii(text, Rules(size=9, komi=komi))
    stones = pos.stones()
    pts = {c: "".join(f"[{coords.to_sgf(int(p), 9)}]" for p in np.flatnonzero(stones == c)) for c in (BLACK, WHITE)}
    path.write_text(f"(;GM[1]FF[4]SZ[9]KM[{komi}]RU[Chinese]AB{pts[BLACK]}AW{pts[WHITE]}PL[B])")
    return path


def _gnugo_final_score(gnugo: list[str], sgf_path) -> str:
    import subprocess

    out = subprocess.run(gnugo, input=f"loadsgf {sgf_path}\nfinal_score\nquit\n", capture_output=True, text=True,
                         timeout=60).stdout
    import re

    return [ln[2:] for ln in out.splitlines() if re.fullmatch(r"= ([BW]\+[\d.]+|0)", ln)][-1]


def test_gtp_engine_streams_lz_analysis_and_scores_with_ownership(untrained9, rlengine_cmd, gnugo, tmp_path):
    import re
    import subprocess

    info = re.compile(r"info move ([A-HJ-T]\d+|pass) visits (\d+) winrate (\d+) prior (\d+) lcb (\d+) order (\d+) "
                      r"pv ((?:[A-HJ-T]\d+|pass)(?: (?:[A-HJ-T]\d+|pass))*)")
    proc = subprocess.Popen(rlengine_cmd + ["gtp", "--player", f"mcts:{untrained9},sims=60", "--size", "9"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            bufsize=1)
    try:
        def send(cmd: str) -> None:
            proc.stdin.write(cmd + "\n")
            proc.stdin.flush()

        send("1 known_command lz-analyze")
        assert _read_until(proc, lambda s: s == "")[0] == "=1 true"
        send("play b E5")
        _read_until(proc, lambda s: s == "")
        send("2 lz-analyze w 10")  # every 0.1 s until the next command
        lines = _read_until(proc, lambda s: s.startswith("info") and len(s.split(" info ")) >= 3)
        assert lines[0] == "=2"
        updates = [ln for ln in lines[1:] if ln]
        for ln in updates:
            moves = ["info " + m if not m.startswith("info ") else m for m in ln.split(" info ")]
            visits = []
            for k, m in enumerate(moves):
                hit = info.fullmatch(m)
                assert hit, m
                assert int(hit.group(6)) == k and 0 <= int(hit.group(3)) <= 10000 and int(hit.group(4)) <= 10000
                assert hit.group(7).split()[0] == hit.group(1)  # the pv starts with the move
                visits.append(int(hit.group(2)))
            assert visits == sorted(visits, reverse=True)
        send("3 name")  # any command ends the analysis
        rest = _read_until(proc, lambda s: s.startswith("=3"))
        assert "" in rest  # the analysis response ended with its empty line before the answer
        _read_until(proc, lambda s: s == "")
        send("4 lz-genmove_analyze w 5")
        lines = _read_until(proc, lambda s: s.startswith("play "))
        assert lines[0] == "=4"
        move = lines[-1].split()[1]
        assert re.fullmatch(r"[A-HJ-T]\d+|pass|resign", move)
        _read_until(proc, lambda s: s == "")
        # final_score removes dead stones as GNU Go does (Chinese rules): a settled board with two dead black
        # stones in white's area is W+0.5, where Tromp-Taylor of the board as it stands says B+4.5
        sgf_path = _setup_sgf(DEAD_IN_WHITES_AREA, tmp_path / "dead.sgf")
        expected = _gnugo_final_score(gnugo, sgf_path)
        assert expected == "W+0.5"
        send(f"loadsgf {sgf_path}")
        _read_until(proc, lambda s: s == "")
        send("5 final_score")
        score = _read_until(proc, lambda s: s.startswith("=5"))[-1]
        assert score == f"=5 {expected}"
        send("6 version")  # the scoring in force is on show (the spec's default: dead stones removed)
        assert _read_until(proc, lambda s: s.startswith("=6"))[-1].endswith("(scoring area)")
        send("7 quit")
        _read_until(proc, lambda s: s.startswith("=7"))
    finally:
        proc.kill()
        proc.wait()


def test_play_hint_shows_the_agents_top_moves(untrained9):
    from rlengine.play import PlaySession

    agent = MCTSPlayer(untrained9, MCTSOptions(sims=30), seed=0)
    session = PlaySession(agent, RULES9, human_color=BLACK, hint_visits=80)
    session.start()
    out = session.handle("hint")
    rows = [ln for ln in out.splitlines() if "win" in ln and "visits" in ln]
    assert len(rows) == 3
    import re

    for row in rows:
        assert re.search(r"\d\.\s+[A-HJ]\d\s+win\s+\d+\.\d%\s+visits \d+", row), row
    reply = session.handle("E5")  # the game goes on after the hint: our move and the agent's
    assert "plays" in reply and len(session.moves) == 2


def test_a_gtp_clock_sets_the_budget(untrained9):
    from games.go.timecontrol import TimeSettings, move_budget

    player = MCTSPlayer(untrained9, MCTSOptions(sims=50), seed=0)
    pos = Position.empty(RULES9)
    assert player._budget(pos, BLACK, None, None) == (50, None)  # no clock: the spec's simulations
    clock = TimeSettings("canadian", 60.0, 30.0, 5, 0)
    player.set_time(clock)
    visits, seconds = player._budget(pos, BLACK, None, None)
    assert visits is None and seconds == move_budget(clock, BLACK, moves_played=0, board_size=9) > 0
    clock.time_left[BLACK] = (10.0, 5)  # in byo-yomi: 10 s for 5 stones
    assert player._budget(pos, BLACK, None, None)[1] < 2.0


def test_cleanup_captures_dead_stones_before_passing(untrained9):
    # black owns the board (two eyes at A9 and J1); a lone white stone at E5 is dead
    rows = ["X X X X X X X X X"] * 9
    board = [list(r.split()) for r in rows]
    board[0][0] = "."
    board[8][8] = "."
    for r, c in ((3, 4), (4, 3), (4, 5), (5, 4), (4, 4)):
        board[r][c] = "."
    board[4][4] = "O"
    pos = Position.from_ascii("\n".join(" ".join(r) for r in board), RULES9, to_move=BLACK)
    player = MCTSPlayer(untrained9, MCTSOptions(sims=60), seed=0)
    e5 = coords.from_gtp("E5", 9)
    own = player.ownership(pos)
    assert own[e5] > 0.5  # the white stone ends as black's in the rollouts
    for _ in range(4):  # black fills the dame around the stone and captures it: never a pass before that
        if pos.color_at(e5) != WHITE:
            break
        move = player.genmove_cleanup(pos, BLACK)
        assert move != pos.pass_move
        pos = pos.play(move, BLACK)
        if pos.color_at(e5) == WHITE and pos.to_move == WHITE:
            pos = pos.play(pos.pass_move, WHITE)
    assert pos.color_at(e5) != WHITE


def test_an_ended_game_is_valued_by_the_scoring_in_force(untrained9):
    """White has just passed; black's only move is to pass too.  Tromp-Taylor (the board as it stands)
    counts black's dead stones H5 H6 and says black wins by passing; with dead stones removed
    (scoring=area, the default) passing loses by 0.5, and the player resigns instead."""
    pos = Position.from_ascii(DEAD_IN_WHITES_AREA, RULES9, to_move=WHITE).play(81)
    tt = MCTSPlayer(untrained9, MCTSOptions(sims=60, scoring="tromp-taylor"), seed=0)
    assert tt.genmove(pos, BLACK) == pos.pass_move
    assert tt._analysis(BLACK).moves[0].winrate == 1.0
    area = MCTSPlayer(untrained9, MCTSOptions(sims=60), seed=0)
    assert area.options.scoring == "area" and area.scoring == "area"
    assert area.genmove(pos, BLACK) is None  # resigns: its value of passing is a loss
    info = area._analysis(BLACK)
    assert info.moves[0].move == pos.pass_move and info.moves[0].winrate == 0.0
    # the evaluator alone: the leaf after black's pass, white to move, under each scoring
    for scoring, white_value in (("tromp-taylor", -1.0), ("area", 1.0)):
        ev = GoEvaluator(size=9, encoder="agz17", net_fn=area.evaluator.net_fn, scoring=scoring, seed=0)
        ev.set_roots([pos])
        res = ev(np.zeros(1, np.int64), np.array([[81]], np.int32), np.array([1], np.int32), np.array([True]))
        assert res.terminal[0] and res.values[0] == white_value, scoring
    # cleanup (two more passes end the game and Tromp-Taylor scores the board): white, to move after both
    # passes, captures the dead stones rather than passing, whatever the spec's scoring
    ended = pos.play(81)
    assert ended.passes == 2
    white = MCTSPlayer(untrained9, MCTSOptions(sims=60), seed=0)
    assert white.genmove_cleanup(ended, WHITE) == coords.from_gtp("H4", 9)


def test_scoring_option_of_the_spec(untrained9):
    p = make_mcts_player(f"{untrained9},sims=5,scoring=tromp-taylor")
    assert p.scoring == "tromp-taylor" and p.evaluator.scoring == "tromp-taylor"
    assert make_mcts_player(f"{untrained9},sims=5").evaluator.scoring == "area"
    with pytest.raises(ValueError, match="scoring must be one of area, tromp-taylor"):
        make_mcts_player(f"{untrained9},scoring=japanese")


def test_search_constant_options(untrained9, rlengine_cmd):
    from rlengine.registry import load_player

    p = load_player(f"mcts:{untrained9},sims=7", seed=0)  # the defaults keep AlphaGo 2016's search
    assert (p.config.c_puct, p.config.fpu, p.config.fpu_reduction, p.config.final) == (5.0, "parent", 0.0, "visits")
    p = load_player(f"mcts:{untrained9},sims=7,c_puct=1.2,fpu=0.25,final=lcb,lcb_z=3,lcb_min=0.2", seed=0)
    assert (p.config.c_puct, p.config.fpu_reduction, p.config.final) == (1.2, 0.25, "lcb")
    assert (p.config.lcb_z, p.config.lcb_min_visits) == (3.0, 0.2)
    for bad, message in (("final=best", "final must be one of visits, lcb"), ("fpu=-0.1", "fpu must be >= 0"),
                         ("lcb_min=2", r"lcb_min must be in \[0, 1\]"), ("lcb_z=-1", "lcb_z must be >= 0"),
                         ("fpu=high", "fpu must be a number")):
        with pytest.raises(ValueError, match=message):
            make_mcts_player(f"{untrained9},{bad}")
    out = subprocess.run([*rlengine_cmd, "gtp", "--player", f"mcts:{untrained9},final=best"], input="quit\n",
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and out.stderr.startswith("rlengine: error:") and "final" in out.stderr


def test_final_lcb_plays_the_move_with_the_best_lower_bound(untrained9):
    """lcb_z = 0 and lcb_min = 0: the bound is the mean, so the move played is the child with the best mean among
    those visited twice, here not the most visited one; final=visits plays the most visited."""
    pos = Position.empty(RULES9)
    moves = {}
    for final in ("visits", "lcb"):
        player = MCTSPlayer(untrained9, MCTSOptions(sims=200, batch=4, resign=0.0, final=final, lcb_z=0.0,
                                                    lcb_min=0.0), seed=5)
        moves[final] = player.genmove(pos, BLACK)
        acts, visits, q, _ = player.forest.children(0)
        if final == "visits":
            assert moves[final] == acts[np.argmax(visits)]
        else:
            ok = visits >= 2
            assert moves[final] == acts[ok][np.argmax(q[ok])]
            assert player._last_choice == moves[final]
    assert moves["lcb"] != moves["visits"]
