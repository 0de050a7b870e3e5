"""Feature planes: hand-made ASCII positions per plane group, a slow pure-Python reference on
random positions, history planes from real move sequences, and the 8 symmetries."""

import numpy as np
import pytest

from games.go import BLACK, WHITE, Position, Rules, coords
from games.go import features as F
from games.go.features import ENCODERS, encode_games, encode_position, inverse_symmetry, num_planes, symmetry_table


def board(text: str, *, to_move=BLACK) -> Position:
    size = len([r for r in text.strip().splitlines() if r.strip()])
    return Position.from_ascii(text, Rules(size=size, ko="simple"), to_move=to_move)


def at(v: str, size: int) -> int:
    return coords.from_gtp(v, size)


def plane(x: np.ndarray, k: int) -> np.ndarray:
    return x[k].reshape(-1)


def bucket(x: np.ndarray, start: int, width: int, p: int) -> int | None:
    """Index of the one-hot bucket set at flat point p among planes start..start+width-1 (None if none)."""
    hits = [i for i in range(width) if x[start + i].reshape(-1)[p]]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None


# ---- API ---------------------------------------------------------------------------


def test_num_planes_and_unknown_encoder():
    assert {e: num_planes(e) for e in ENCODERS} == {"alphago48": 48, "alphago49": 49, "agz17": 17}
    with pytest.raises(ValueError, match="alphago48"):
        num_planes("alphago50")
    pos = Position.empty(Rules(size=5))
    with pytest.raises(ValueError, match="unknown encoder"):
        encode_position(pos, "nope")
    with pytest.raises(ValueError, match="symmetry"):
        encode_position(pos, "agz17", symmetry=8)


@pytest.mark.parametrize("size", [2, 5, 9, 19])
def test_symmetry_table_is_the_dihedral_group(size):
    t = symmetry_table(size)
    m = size * size
    assert t.shape == (8, m + 1) and t.dtype == np.int32
    assert np.array_equal(t[0], np.arange(m + 1))
    assert (t[:, m] == m).all()
    for k in range(8):
        assert sorted(t[k]) == list(range(m + 1))
        assert np.array_equal(t[inverse_symmetry(k)][t[k]], np.arange(m + 1))
        # neighbours stay neighbours
        r, c = np.divmod(t[k, :m], size)
        _, cc = np.divmod(np.arange(m), size)
        right = cc < size - 1
        a, b = np.flatnonzero(right), np.flatnonzero(right) + 1
        assert (np.abs(r[a] - r[b]) + np.abs(c[a] - c[b]) == 1).all()
    if size > 2:
        assert len({tuple(row) for row in t}) == 8


# ---- simple planes -------------------------------------------------------------------

EYE = """
. X . O .
X . X O O
. X . O .
O O O . X
. . O X .
"""


def test_colour_ones_liberties_sensibleness_and_colour_plane():
    pos = board(EYE, to_move=WHITE)
    x = encode_position(pos, "alphago49")
    n = 5
    stones = pos.stones()
    assert np.array_equal(plane(x, 0), (stones == WHITE).astype(np.uint8))  # own = white
    assert np.array_equal(plane(x, 1), (stones == BLACK).astype(np.uint8))
    assert np.array_equal(plane(x, 2), (stones == 0).astype(np.uint8))
    assert (x[3] == 1).all() and (x[47] == 0).all() and (x[48] == 0).all()
    assert (encode_position(board(EYE), "alphago49")[48] == 1).all()
    # liberties of each stone's chain, one-hot 1..8
    for p in range(n * n):
        if stones[p]:
            assert bucket(x, 12, 8, p) == min(pos.liberties_at(p), 8) - 1
        else:
            assert bucket(x, 12, 8, p) is None
    # E5: white's corner eye; B4: black's eye (suicide for white); E1: black's corner eye
    sens = plane(x, 46)
    assert sens[at("E5", n)] == 0  # own single-point eye
    assert sens[at("B4", n)] == 0  # black's eye: suicide for white
    assert sens[at("A1", n)] == 1
    # the same eye point for black: B4 is black's own eye, E5 is suicide for black
    xb = encode_position(board(EYE), "alphago48")
    assert plane(xb, 46)[at("B4", n)] == 0 and plane(xb, 46)[at("E5", n)] == 0
    assert plane(xb, 46)[at("E1", n)] == 0  # black's own eye in the corner
    assert plane(xb, 46)[at("A1", n)] == 1


def test_ko_point_is_not_legal():
    pos = board("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
    """)
    after = pos.play(at("C4", 5))  # black captures B4, white may not retake at once
    assert after.ko_point == at("B4", 5)
    x = encode_position(after, "alphago48")
    p = at("B4", 5)
    assert plane(x, 46)[p] == 0 and bucket(x, 20, 8, p) is None and bucket(x, 36, 8, p) is None
    assert bucket(x, 20, 8, at("E1", 5)) == 0  # a legal point that captures nothing


# ---- capture size, self-atari, liberties after move ----------------------------------------


def test_capture_size_and_liberties_after_a_capture():
    pos = board("""
        . X X X . . .
        X O O O X . .
        . X X . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
    """)
    x = encode_position(pos, "alphago48")
    d5 = at("D5", 7)
    assert bucket(x, 20, 8, d5) == 3  # captures three
    # D5 joins B5-C5; the freed B6 C6 D6 plus A5 B4 C4 D4 E5 give 8 liberties (>= 8 bucket)
    after = pos.play(d5)
    assert after.liberties_at(d5) == 8
    assert bucket(x, 36, 8, d5) == 7
    # A7 joins B7-C7-D7 and A6 into one chain with liberties E7 and A5
    a7 = at("A7", 7)
    assert bucket(x, 36, 8, a7) == 2 - 1 and bucket(x, 20, 8, a7) == 0
    assert bucket(x, 36, 8, a7) == pos.play(a7).liberties_at(a7) - 1
    assert bucket(x, 28, 8, d5) is None
    assert bucket(x, 20, 8, at("G1", 7)) == 0


def test_capture_size_buckets_and_self_atari_size():
    pos = board("""
        . . . . . . .
        . . . . . . .
        O O O O O O O
        X X X X X X X
        O O O O O O .
        X X X X X X O
        . . . . . . O
    """)
    x = encode_position(pos, "alphago48")
    # G3 captures the 6 white stones on row 3 (their only liberty)
    g3 = at("G3", 7)
    assert bucket(x, 20, 8, g3) == 6
    # A1 for black: joins the bottom black chain, whose liberties are then A1..F1 minus A1
    a1 = at("A1", 7)
    assert bucket(x, 36, 8, a1) == 5 - 1
    wpos = board("""
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        X X X X X X .
        O O O O O O X
        . X . X X X X
    """, to_move=WHITE)
    xw = encode_position(wpos, "alphago48")
    # white A2-F2 has liberties A1 and C1; either one leaves 7 white stones in atari
    for v in ("A1", "C1"):
        p = at(v, 7)
        assert bucket(xw, 20, 8, p) == 0 and bucket(xw, 36, 8, p) == 0 and bucket(xw, 28, 8, p) == 6
        after = wpos.play(p)
        assert after.liberties_at(p) == 1 and len(after.chain_at(p)) == 7
    assert bucket(xw, 28, 8, at("G3", 7)) == 0  # a lone white stone between F3 and G2: liberty G4 only
    assert bucket(xw, 28, 8, at("G5", 7)) is None
    small = board("""
        . O X .
        . X . .
        . . . .
        . . . .
    """, to_move=WHITE)
    xs = encode_position(small, "alphago48")
    assert bucket(xs, 28, 8, at("A4", 4)) == 1  # A4-B4 with the single liberty A3
    assert bucket(xs, 28, 8, at("D4", 4)) == 0  # a lone stone with the single liberty D3
    assert bucket(xs, 28, 8, at("D1", 4)) is None


# ---- ladders ------------------------------------------------------------------------------

LADDER = """
. . . . . . . . .
. . . . . . . . .
. . . X . . . . .
. . X O . . . . .
. . . . X . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
"""
# the same ladder with a white breaker on its path towards the lower-left corner
BROKEN = LADDER.replace("""
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
""".strip("\n"), """
. . . . . . . . .
. O . . . . . . .
. . . . . . . . .
""".strip("\n"), 1)


def test_ladder_capture_works_and_a_breaker_stops_it():
    assert BROKEN != LADDER
    n = 9
    x = encode_position(board(LADDER), "alphago48")
    # D6 is white with liberties E6 and D5: both ataris work on an empty board
    assert plane(x, 44)[at("E6", n)] == 1 and plane(x, 44)[at("D5", n)] == 1
    assert plane(x, 44).sum() == 2
    xb = encode_position(board(BROKEN), "alphago48")
    # E6 chases white down towards the breaker at B3: it fails; D5 chases white right: still works
    assert plane(xb, 44)[at("E6", n)] == 0 and plane(xb, 44)[at("D5", n)] == 1


def test_ladder_escape_only_with_a_breaker():
    n = 9
    chased = board(LADDER).play(at("E6", n))  # black ataris, white to move
    assert chased.to_move == WHITE and chased.liberties_at(at("D6", n)) == 1
    x = encode_position(chased, "alphago48")
    d5 = at("D5", n)
    assert plane(x, 45)[d5] == 0 and plane(x, 45).sum() == 0
    xb = encode_position(board(BROKEN).play(at("E6", n)), "alphago48")
    assert plane(xb, 45)[d5] == 1


def test_ladder_escape_by_capturing_an_attacker_in_atari():
    pos = board("""
        . . . . . . .
        . . . . . . .
        . . O X O . .
        . . X O X . .
        . . X . . . .
        . . . X . . .
        . . . . . . .
    """, to_move=WHITE)
    n = 7
    assert pos.liberties_at(at("D4", n)) == 1  # white D4: liberty D3
    assert pos.liberties_at(at("D5", n)) == 1  # black D5: liberty D6
    x = encode_position(pos, "alphago48")
    # extending at D3 leaves one liberty (E3); capturing D5 at D6 frees the runner
    assert plane(x, 45)[at("D3", n)] == 0
    assert plane(x, 45)[at("D6", n)] == 1
    assert plane(x, 45).sum() == 1


def _neighbours(p: int, n: int) -> list[int]:
    r, c = divmod(p, n)
    steps = ((-1, 0), (1, 0), (0, -1), (0, 1))
    return [(r + dr) * n + c + dc for dr, dc in steps if 0 <= r + dr < n and 0 <= c + dc < n]


# ---- history: turns since, agz17 ------------------------------------------------------------


def _game(size: int, moves: list[str]) -> Position:
    pos = Position.empty(Rules(size=size, ko="simple"))
    for m in moves:
        pos = pos.play(coords.from_gtp(m, size))
    return pos


def test_turns_since_from_a_played_game():
    n = 5
    moves = ["C3", "D3", "B3", "pass", "C4", "A1", "B2", "C2", "E5", "E4", "A5"]
    pos = _game(n, moves)
    x = encode_position(pos, "alphago48")
    # the pass counts as a move: C4 is 7 moves old, B3 9 (>= 8 bucket)
    expect = {"A5": 1, "E4": 2, "E5": 3, "C2": 4, "B2": 5, "A1": 6, "C4": 7, "B3": 9, "D3": 10, "C3": 11}
    for v, age in expect.items():
        assert bucket(x, 4, 8, at(v, n)) == min(age, 8) - 1, v
    assert bucket(x, 4, 8, at("D1", n)) is None
    # the same game through a stream
    pts = np.array([coords.from_gtp(m, n) for m in moves] + [at("D1", n)], np.int16)
    cols = np.array([BLACK if i % 2 == 0 else WHITE for i in range(len(pts))], np.int8)
    for enc in ENCODERS:
        y = encode_games(pts, cols, np.array([0, len(pts)]), [0], [len(moves)], [0], enc, n)
        assert np.array_equal(y[0], encode_position(pos, enc)), enc


def test_turns_since_restarts_when_a_captured_point_is_replayed():
    n = 5
    # white B4 is captured by black C4... then white replays at B4 later
    moves = ["B5", "B4", "A4", "E1", "C4", "E2", "B3", "pass"]
    pos = _game(n, moves)
    assert pos.color_at(at("B4", n)) == 0
    pos = pos.play(at("E3", n)).play(at("D1", n))
    x = encode_position(pos, "alphago48")
    assert bucket(x, 4, 8, at("D1", n)) == 0 and bucket(x, 4, 8, at("E3", n)) == 1
    assert bucket(x, 4, 8, at("B5", n)) == 7  # 10 moves old


def test_agz17_history_boards():
    n = 5
    moves = ["C3", "D3", "B3", "pass", "C4"]
    pos = _game(n, moves)
    x = encode_position(pos, "agz17")
    assert x.shape == (17, n, n)
    # white to move now: own = white, opponent = black
    own = [plane(x, j) for j in range(8)]
    opp = [plane(x, 8 + j) for j in range(8)]
    line = [Position.empty(Rules(size=n))]
    for m in moves:
        line.append(line[-1].play(coords.from_gtp(m, n)))
    boards = [b.stones() for b in reversed(line)]  # t, t-1, ..., t-5 (empty board)
    for j in range(8):
        ref = boards[min(j, len(boards) - 1)]  # older than the game start: the oldest board repeats
        assert np.array_equal(own[j], (ref == WHITE).astype(np.uint8)), j
        assert np.array_equal(opp[j], (ref == BLACK).astype(np.uint8)), j
    assert (x[16] == 0).all()
    assert (encode_position(pos.play(at("A1", n)), "agz17")[16] == 1).all()
    # no history at all: every past board is the board itself
    alone = board("""
        X . .
        . O .
        . . .
    """)
    y = encode_position(alone, "agz17")
    for j in range(8):
        assert np.array_equal(y[j], y[0]) and np.array_equal(y[8 + j], y[8])


# ---- streams: setup events, errors ------------------------------------------------------------


def test_stream_setup_events_and_errors():
    n = 5
    # AB A1 B1, AW E5, AE B1, then moves C3 (black) D3 (white); sample: black to move
    pts = np.array([at(v, n) for v in ("A1", "B1", "E5", "B1", "C3", "D3", "C4")], np.int16)
    cols = np.array([-1, -1, -2, -3, BLACK, WHITE, BLACK], np.int8)
    off = np.array([0, len(pts)])
    y = encode_games(pts, cols, off, [0], [6], [0], "alphago48", n)[0]
    stones = np.zeros(n * n, np.int8)
    stones[[at("A1", n), at("C3", n)]] = BLACK
    stones[[at("E5", n), at("D3", n)]] = WHITE
    assert np.array_equal(plane(y, 0), (stones == BLACK).astype(np.uint8))
    assert np.array_equal(plane(y, 1), (stones == WHITE).astype(np.uint8))
    assert bucket(y, 4, 8, at("D3", n)) == 0 and bucket(y, 4, 8, at("C3", n)) == 1
    assert bucket(y, 4, 8, at("A1", n)) == 7 and bucket(y, 4, 8, at("E5", n)) == 7  # setup stones are old
    with pytest.raises(ValueError, match="not a move"):
        encode_games(pts, cols, off, [0], [2], [0], "alphago48", n)
    with pytest.raises(ValueError, match="not in game"):
        encode_games(pts, cols, off, [0], [7], [0], "alphago48", n)
    with pytest.raises(ValueError, match="sample_sym"):
        encode_games(pts, cols, off, [0], [6], [9], "alphago48", n)
    with pytest.raises(ValueError, match="out must be"):
        encode_games(pts, cols, off, [0], [6], [0], "alphago48", n, out=np.zeros((1, 47, n, n), np.uint8))


# ---- random positions: a slow pure-Python reference ------------------------------------------


class _Ref:
    """Plain-Python board for the reference: colours on a list, flood-fill chains."""

    def __init__(self, colors, n):
        self.c = list(int(v) for v in colors)
        self.n = n
        self.nodes = 0  # search calls, to skip questions near the kernel's node budget

    def nb(self, p):
        return _neighbours(p, self.n)

    def chain(self, p):
        col = self.c[p]
        stones, libs, todo = {p}, set(), [p]
        while todo:
            r = todo.pop()
            for q in self.nb(r):
                if self.c[q] == 0:
                    libs.add(q)
                elif self.c[q] == col and q not in stones:
                    stones.add(q)
                    todo.append(q)
        return stones, libs

    def play(self, p, col):
        """Returns (undo list, captured count) or None for suicide."""
        undo = [(p, 0)]
        self.c[p] = col
        captured = 0
        for q in self.nb(p):
            if self.c[q] == 3 - col:
                st, lb = self.chain(q)
                if not lb:
                    for r in st:
                        undo.append((r, 3 - col))
                        self.c[r] = 0
                    captured += len(st)
        if not self.chain(p)[1]:
            self.undo(undo)
            return None
        return undo, captured

    def undo(self, undo):
        for p, v in reversed(undo):
            self.c[p] = v

    def captured(self, runner, attacker_turn, depth=0):
        self.nodes += 1
        d = self.c[runner]
        st, libs = self.chain(runner)
        if depth > 100:
            return False
        if attacker_turn:
            assert len(libs) == 2
            for x in sorted(libs):
                r = self.play(x, 3 - d)
                if r is None:
                    continue
                ok = len(self.chain(runner)[1]) == 1 and not self.escapes_after_atari(runner, depth + 1)
                self.undo(r[0])
                if ok:
                    return True
            return False
        return not self.escapes_after_atari(runner, depth)

    def defender_moves(self, runner):
        d = self.c[runner]
        st, libs = self.chain(runner)
        moves = set(libs)
        for s in st:
            for q in self.nb(s):
                if self.c[q] == 3 - d:
                    _, lq = self.chain(q)
                    if len(lq) == 1:
                        moves |= lq
        return moves

    def escapes_after_atari(self, runner, depth):
        self.nodes += 1
        d = self.c[runner]
        for x in sorted(self.defender_moves(runner)):
            r = self.play(x, d)
            if r is None:
                continue
            nl = len(self.chain(runner)[1])
            esc = nl >= 3 or (nl == 2 and not self.captured(runner, True, depth + 1))
            self.undo(r[0])
            if esc:
                return True
        return False


def _reference_planes(pos: Position) -> dict[str, np.ndarray]:
    n = pos.size
    m = n * n
    c = pos.to_move
    ref = _Ref(pos.stones(), n)
    out = {k: np.full(m, -1) for k in ("capture", "libs_after", "self_atari")}
    out["sensible"] = np.zeros(m, np.uint8)
    out["ladder_capture"] = np.zeros(m, np.uint8)
    out["ladder_escape"] = np.zeros(m, np.uint8)
    out["unsure"] = np.zeros(m, bool)  # a question that needed many nodes: the kernel may give up
    limit = F.LADDER_MAX_NODES // 2
    legal = np.zeros(m, bool)
    for p in range(m):
        if ref.c[p] or p == pos.ko_point:
            continue
        r = ref.play(p, c)
        if r is None:
            continue
        legal[p] = True
        st, lb = ref.chain(p)
        out["capture"][p] = r[1]
        out["libs_after"][p] = len(lb)
        if len(lb) == 1:
            out["self_atari"][p] = len(st)
        ref.undo(r[0])
        eye = all(ref.c[q] == c for q in ref.nb(p))
        if eye:
            rr, cc = divmod(p, n)
            diags = [(rr + a) * n + cc + b for a in (-1, 1) for b in (-1, 1) if 0 <= rr + a < n and 0 <= cc + b < n]
            bad = sum(ref.c[q] == 3 - c for q in diags)
            eye = bad == 0 if len(diags) < 4 else bad < 2
        out["sensible"][p] = not eye
    for p in range(m):
        if ref.c[p] == 3 - c:
            st, lb = ref.chain(p)
            if len(lb) == 2 and min(st) == p:
                for x in lb:
                    if not legal[x]:
                        continue
                    r = ref.play(x, c)
                    if r is not None:
                        ref.nodes = 0
                        if len(ref.chain(p)[1]) == 1 and ref.captured(p, False):
                            out["ladder_capture"][x] = 1
                        out["unsure"][x] |= ref.nodes > limit
                        ref.undo(r[0])
        elif ref.c[p] == c:
            st, lb = ref.chain(p)
            if len(lb) == 1 and min(st) == p:
                for x in ref.defender_moves(p):
                    if not legal[x]:
                        continue
                    r = ref.play(x, c)
                    if r is not None:
                        ref.nodes = 0
                        nl = len(ref.chain(p)[1])
                        if nl >= 3 or (nl == 2 and not ref.captured(p, True)):
                            out["ladder_escape"][x] = 1
                        out["unsure"][x] |= ref.nodes > limit
                        ref.undo(r[0])
    return out


def _random_positions(size: int, count: int, seed: int) -> list[Position]:
    from games.go._core import seed_rng

    rng = seed_rng(seed)
    gen = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        pos = Position.empty(Rules(size=size, ko="simple"))
        for _ in range(int(gen.integers(size * size // 3, 2 * size * size))):
            mv = pos.random_move(rng)
            pos = pos.play(mv)
            if pos.is_over:
                break
        if not pos.is_over:
            out.append(pos)
    return out


def _decode(x: np.ndarray, start: int, width: int, offset: int) -> np.ndarray:
    """one-hot planes -> value per point (offset added), -1 where no bucket is set."""
    block = x[start:start + width].reshape(width, -1)
    val = np.argmax(block, axis=0) + offset
    val[block.sum(axis=0) == 0] = -1
    assert (block.sum(axis=0) <= 1).all()
    return val


@pytest.mark.parametrize("size", [7, 9])
def test_move_planes_match_a_python_reference_on_random_positions(size):
    num_ladders = num_escapes = num_unsure = 0
    for pos in _random_positions(size, 25, seed=size):
        x = encode_position(pos, "alphago48")
        ref = _reference_planes(pos)
        cap = ref["capture"]
        assert np.array_equal(_decode(x, 20, 8, 0), np.where(cap >= 0, np.minimum(cap, 7), -1))
        la = ref["libs_after"]
        assert np.array_equal(_decode(x, 36, 8, 1), np.where(la >= 0, np.minimum(la, 8), -1))
        sa = ref["self_atari"]
        assert np.array_equal(_decode(x, 28, 8, 1), np.where(sa >= 0, np.minimum(sa, 8), -1))
        assert np.array_equal(plane(x, 46), ref["sensible"])
        sure = ~ref["unsure"]
        num_unsure += int((~sure).sum())
        assert np.array_equal(plane(x, 44)[sure], ref["ladder_capture"][sure]), pos
        assert np.array_equal(plane(x, 45)[sure], ref["ladder_escape"][sure]), pos
        num_ladders += int(ref["ladder_capture"][sure].sum())
        num_escapes += int(ref["ladder_escape"][sure].sum())
        libs = _decode(x, 12, 8, 1)
        for p in range(size * size):
            want = min(pos.liberties_at(p), 8) if pos.color_at(p) else -1
            assert libs[p] == want
    assert num_ladders > 0 and num_escapes > 0  # the positions exercise both ladder planes
    assert num_unsure <= 10


# ---- symmetries and the two entry points ---------------------------------------------------------


def _stream(positions_moves: list[list[int]]):
    pts, cols, off = [], [], [0]
    for moves in positions_moves:
        for i, mv in enumerate(moves):
            pts.append(mv)
            cols.append(BLACK if i % 2 == 0 else WHITE)
        off.append(len(pts))
    return np.array(pts, np.int16), np.array(cols, np.int8), np.array(off, np.int64)


@pytest.mark.parametrize("size", [7, 9])
def test_symmetries_and_entry_points_agree(size):
    from games.go._core import seed_rng

    rng = seed_rng(100 + size)
    games, finals = [], []
    for g in range(3):
        pos = Position.empty(Rules(size=size, ko="simple"))
        moves = []
        while len(moves) < size * size and not pos.is_over:
            mv = pos.random_move(rng)
            moves.append(mv)
            pos = pos.play(mv)
        games.append(moves + [size * size])
        finals.append(pos)
    pts, cols, off = _stream(games)
    t = symmetry_table(size)
    m = size * size
    for enc in ENCODERS:
        num = num_planes(enc)
        sample_game = np.repeat(np.arange(3), 8)
        sample_event = off[1:][sample_game] - 1
        sample_sym = np.tile(np.arange(8), 3)
        y = encode_games(pts, cols, off, sample_game, sample_event, sample_sym, enc, size)
        for g in range(3):
            ident = y[8 * g].reshape(num, m)
            assert np.array_equal(y[8 * g], encode_position(finals[g], enc)), enc
            for k in range(8):
                expect = np.zeros_like(ident)
                expect[:, t[k, :m]] = ident
                assert np.array_equal(y[8 * g + k].reshape(num, m), expect), (enc, k)
                assert np.array_equal(encode_position(finals[g], enc, symmetry=k), y[8 * g + k]), (enc, k)
    # a mid-game sample through both entry points
    line = [Position.empty(Rules(size=size, ko="simple"))]
    for mv in games[0][:20]:
        line.append(line[-1].play(mv))
    for enc in ENCODERS:
        y = encode_games(pts, cols, off, [0, 0], [20, 12], [3, 0], enc, size)
        assert np.array_equal(y[0], encode_position(line[20], enc, symmetry=3))
        assert np.array_equal(y[1], encode_position(line[12], enc))


def test_threaded_batches_match_single_samples():
    import numba

    size = 9
    from games.go._core import seed_rng

    rng = seed_rng(7)
    games = []
    for g in range(4):
        pos = Position.empty(Rules(size=size, ko="simple"))
        moves = []
        while len(moves) < 60 and not pos.is_over:
            mv = pos.random_move(rng)
            moves.append(mv)
            pos = pos.play(mv)
        games.append(moves)
    pts, cols, off = _stream(games)
    gen = np.random.default_rng(3)
    n = 80
    sample_game = gen.integers(0, 4, n)
    sample_event = np.array([gen.integers(off[g], off[g + 1]) for g in sample_game])
    sample_sym = gen.integers(0, 8, n)
    assert numba.get_num_threads() >= 1
    for enc in ("alphago48", "agz17"):
        batch = encode_games(pts, cols, off, sample_game, sample_event, sample_sym, enc, size)
        for b in range(0, n, 7):
            one = encode_games(pts, cols, off, sample_game[b:b + 1], sample_event[b:b + 1], sample_sym[b:b + 1], enc,
                               size)
            assert np.array_equal(batch[b], one[0]), (enc, b)


def test_batches_replaying_a_game_forward_match_single_samples_with_setup_events():
    # encode_games replays each game once, forward, over samples sorted by event: setup events between
    # and right before samples, repeated samples and samples given out of order must not change the planes
    n = 5
    ev = [("A1", -1), ("B1", -1), ("E5", -2), ("B1", -3), ("C3", BLACK), ("D3", WHITE), ("A5", -1), ("C4", BLACK),
          ("D4", WHITE), ("C3", -3), ("B2", -2), ("A3", BLACK), (None, WHITE), ("E1", BLACK), ("B4", WHITE)]
    pts = np.array([n * n if v is None else at(v, n) for v, _ in ev], np.int16)
    cols = np.array([c for _, c in ev], np.int8)
    pts, cols = np.concatenate([pts, pts]), np.concatenate([cols, cols])  # two copies of the game
    off = np.array([0, len(ev), 2 * len(ev)])
    moves = np.flatnonzero(cols > 0)
    gen = np.random.default_rng(5)
    sample_event = np.concatenate([moves, gen.choice(moves, 12)])
    gen.shuffle(sample_event)
    sample_game = (sample_event >= len(ev)).astype(np.int64)
    sample_sym = gen.integers(0, 8, sample_event.size)
    for enc in ENCODERS:
        batch = encode_games(pts, cols, off, sample_game, sample_event, sample_sym, enc, n)
        for b in range(sample_event.size):
            one = encode_games(pts, cols, off, sample_game[b:b + 1], sample_event[b:b + 1], sample_sym[b:b + 1], enc, n)
            assert np.array_equal(batch[b], one[0]), (enc, b)
