"""Differential tests against GNU Go 3.8 over GTP, with our engine as a real subprocess.

Random moves (some on occupied points, some passes) are sent to both engines;
every ``play`` must be accepted or rejected alike, the stones on the board
must agree after every move, and our Tromp-Taylor ``final_score`` must equal
an independent count of GNU Go's ``list_stones``.
"""

from __future__ import annotations

import random

import pytest

from games.go import coords
from games.go.gtp_client import GtpClient, GtpResponseError


def _stones(client: GtpClient, color: str) -> set[str]:
    return set(client.send(f"list_stones {color}").upper().split())


def _area_score(black: set[str], white: set[str], size: int, komi: float) -> float:
    """Tromp-Taylor area from two sets of vertices: a flood fill written for the test."""
    colour = {}
    for v in black:
        colour[coords.from_gtp(v, size)] = "b"
    for v in white:
        colour[coords.from_gtp(v, size)] = "w"
    seen: set[int] = set()
    area = {"b": len(black), "w": len(white)}
    for start in range(size * size):
        if start in colour or start in seen:
            continue
        region, reach, stack = [], set(), [start]
        seen.add(start)
        while stack:
            p = stack.pop()
            region.append(p)
            r, c = divmod(p, size)
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= rr < size and 0 <= cc < size:
                    q = rr * size + cc
                    if q in colour:
                        reach.add(colour[q])
                    elif q not in seen:
                        seen.add(q)
                        stack.append(q)
        if len(reach) == 1:
            area[reach.pop()] += len(region)
    return area["b"] - area["w"] - komi


def _result(score: float) -> str:
    return "0" if score == 0 else (f"B+{score:g}" if score > 0 else f"W+{-score:g}")


@pytest.mark.parametrize("size,num_moves,seed", [(5, 800, 1), (7, 800, 2), (9, 1000, 3), (13, 800, 4), (19, 600, 5)])
def test_random_games_agree_with_gnugo(gnugo, rlengine_cmd, size, num_moves, seed):
    rng = random.Random(seed)
    komi = 7.5
    ours = GtpClient(rlengine_cmd + ["gtp", "--player", "random", "--ko", "simple", "--size", str(size),
                                     "--komi", str(komi)], timeout=60)
    theirs = GtpClient(gnugo, timeout=60)
    accepted = rejected = captures = 0
    reasons: dict[str, int] = {}
    try:
        for client in (ours, theirs):
            client.send(f"boardsize {size}")
            client.send("clear_board")
            client.send(f"komi {komi}")
        black, white = set(), set()
        color = "black"
        streak = 0  # consecutive rejections: the board is full of eyes, start a new game
        for i in range(num_moves):
            if streak >= 8:
                for client in (ours, theirs):
                    client.send("clear_board")
                black, white, streak = set(), set(), 0
            occupied = black | white
            all_vertices = [coords.to_gtp(p, size) for p in range(size * size)]
            roll = rng.random()
            if roll < 0.03:
                vertex = "pass"
            elif roll < 0.10 and occupied:
                vertex = rng.choice(sorted(occupied))
            else:
                empty = [v for v in all_vertices if v not in occupied]
                vertex = rng.choice(empty) if empty else "pass"
            if rng.random() < 0.1:  # sometimes the same colour twice: GTP allows it
                color = "white" if color == "black" else "black"
            results = []
            for client in (ours, theirs):
                try:
                    client.send(f"play {color} {vertex}")
                    results.append(True)
                except GtpResponseError as exc:
                    results.append(False)
                    if client is ours:
                        reasons[exc.message.split(": ")[-1]] = reasons.get(exc.message.split(": ")[-1], 0) + 1
            assert results[0] == results[1], (
                f"move {i}: play {color} {vertex} -> ours {'ok' if results[0] else 'illegal'}, "
                f"GNU Go {'ok' if results[1] else 'illegal'}\n{ours.send('showboard')}")
            if results[0]:
                accepted += 1
                before = len(black) + len(white)
                black, white = _stones(theirs, "black"), _stones(theirs, "white")
                assert (_stones(ours, "black"), _stones(ours, "white")) == (black, white), f"move {i}: {color} {vertex}"
                captures += before + (vertex != "pass") - len(black) - len(white)
                color = "white" if color == "black" else "black"
                streak = 0
            else:
                rejected += 1
                streak += 1
            if i % 50 == 49 or i == num_moves - 1:
                expected = _area_score(black, white, size, komi)
                assert ours.send("final_score") == _result(expected), f"move {i}"
        # the random games must have exercised both outcomes and captures
        assert accepted > num_moves // 2 and captures > 0
        assert reasons.get("point is occupied", 0) > 0 and reasons.get("suicide", 0) > 0, reasons
        print(f"{size}x{size}: {accepted} accepted, {rejected} rejected {reasons}, {captures} captured")
    finally:
        ours.close()
        theirs.close()


def test_fixed_handicap_matches_gnugo(gnugo, rlengine_cmd):
    ours = GtpClient(rlengine_cmd + ["gtp"], timeout=60)
    theirs = GtpClient(gnugo, timeout=60)
    try:
        for size in (7, 8, 9, 13, 19):
            for n in range(2, 11):
                answers = []
                for client in (ours, theirs):
                    client.send(f"boardsize {size}")
                    try:
                        answers.append(set(client.send(f"fixed_handicap {n}").upper().split()))
                    except GtpResponseError:
                        answers.append(None)
                assert answers[0] == answers[1], (size, n)
    finally:
        ours.close()
        theirs.close()


def test_ko_recapture_rejected_by_both(gnugo, rlengine_cmd):
    ours = GtpClient(rlengine_cmd + ["gtp", "--ko", "simple"], timeout=60)
    theirs = GtpClient(gnugo, timeout=60)
    setup = ["b B4", "w C4", "b A3", "w B3", "b B2", "w C2", "b E1", "w D3", "b C3"]
    try:
        for client in (ours, theirs):
            client.send("boardsize 5")
            client.send("clear_board")
            for move in setup:
                client.send(f"play {move}")
            assert "B3" not in client.send("list_stones white").upper().split()  # black took the ko
            with pytest.raises(GtpResponseError):
                client.send("play w B3")
            client.send("play w E5")  # a threat elsewhere
            client.send("play b D1")
            client.send("play w B3")  # now the retake is legal
            assert "C3" not in client.send("list_stones black").upper().split()
    finally:
        ours.close()
        theirs.close()
