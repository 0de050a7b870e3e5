"""SGF tests: syntax corners, charsets, setup, round trips, error messages, fuzzing, streaming, real games."""

import io
import logging
import tarfile
import zipfile
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from games.go import BLACK, EMPTY, WHITE, coords
from games.go.sgf import (
    GameNode,
    GameRecord,
    Move,
    Setup,
    SgfError,
    SgfNode,
    SgfStats,
    iter_games,
    parse_sgf,
    read_sgf,
    save_sgf,
)


def pt(point: str, size: int = 19) -> int:
    return coords.from_sgf(point, size)


def one_tree(data) -> SgfNode:
    [root] = parse_sgf(data)
    return root


def record_of(data) -> GameRecord:
    return GameRecord.from_tree(one_tree(data))


# ---- syntax ---------------------------------------------------------------------------------------
def test_escapes_in_values():
    root = one_tree(rb"(;C[a \] b \\ c \x]PB[x\\]PW[\]])")
    assert root.get("C") == "a ] b \\ c x"
    assert root.get("PB") == "x\\"
    assert root.get("PW") == "]"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\n\r", "\r"])
def test_soft_line_breaks_vanish_and_hard_ones_stay(newline):
    root = one_tree(f"(;C[ab\\{newline}cd{newline}ef])")
    assert root.get("C") == f"abcd{newline}ef"


def test_whitespace_between_tokens_and_junk_around_trees():
    root = one_tree(b"header junk (c) 2003\n ( \n ; SZ [9] \t KM\r\n[6.5] ; B [ee]\n ) trailing junk")
    assert root.props == {"SZ": ["9"], "KM": ["6.5"]}
    assert record_of(b"(;SZ [9] ; B\n[ee])").moves == [Move(BLACK, 40)]


def test_lowercase_letters_in_old_identifiers_are_ignored():
    root = one_tree(b"(;FF[3]AddBlack[aa][bb]AddWhite[cc]PLayer[W]SiZe[9];Black[dd];White[ee])")
    assert set(root.props) == {"FF", "AB", "AW", "PL", "SZ"}
    record = GameRecord.from_tree(root)
    assert record.size == 9
    assert record.setup == Setup(black=[pt("aa", 9), pt("bb", 9)], white=[pt("cc", 9)])
    assert record.to_move == WHITE
    assert record.moves == [Move(BLACK, pt("dd", 9)), Move(WHITE, pt("ee", 9))]


def test_compressed_point_lists_expand_to_rectangles():
    record = record_of(b"(;SZ[5]AB[aa:bc][ee]AW[dc:cb];AE[bc:aa])")
    rect = [r * 5 + c for r in range(3) for c in range(2)]  # columns a-b, rows a-c
    assert record.setup.black == tuple(sorted(rect + [pt("ee", 5)]))
    assert record.setup.white == tuple(sorted(r * 5 + c for r in (1, 2) for c in (2, 3)))
    assert record.nodes[0].setup == Setup(empty=rect)


def test_several_game_trees_in_one_file():
    roots = parse_sgf(b"(;GM[1]SZ[9];B[aa])\n\n(;SZ[13];W[bb];B[])")
    assert len(roots) == 2
    first, second = (GameRecord.from_tree(r) for r in roots)
    assert (first.size, first.moves) == (9, [Move(BLACK, 0)])
    assert (second.size, second.moves) == (13, [Move(WHITE, 14), Move(BLACK, 169)])


def test_variations_main_line_and_full_tree():
    root = one_tree(b"(;SZ[9];B[aa](;W[bb];B[cc])(;W[dd](;B[ee])(;B[ff])))")
    assert [n.get("B") or n.get("W") for n in root.main_line()] == [None, "aa", "bb", "cc"]
    first = root.children[0]
    assert [c.get("W") for c in first.children] == ["bb", "dd"]
    assert [c.get("B") for c in first.children[1].children] == ["ee", "ff"]
    assert sum(1 for _ in root.walk()) == 7
    assert [m.point for m in GameRecord.from_tree(root).moves] == [pt(p, 9) for p in ("aa", "bb", "cc")]


def test_properties_with_several_values_and_repeated_identifiers():
    root = one_tree(b"(;AB[aa][bb] [cc]\n[dd]C[one]C[two])")
    assert root.props["AB"] == ["aa", "bb", "cc", "dd"]
    assert root.props["C"] == ["one", "two"]


def test_deep_variation_nesting_does_not_recurse():
    depth = 5000
    data = b"(;SZ[9]" + b"(;B[aa]" * depth + b")" * (depth + 1)
    root = one_tree(data)
    assert sum(1 for _ in root.walk()) == depth + 1
    assert root == one_tree(data) and "children=<1>" in repr(root)


# ---- character sets -------------------------------------------------------------------------------
def test_gb2312_text_is_decoded():
    name = "李昌镐"
    data = b"(;CA[gb2312]PB[" + name.encode("gb2312") + b"]C[" + "黑棋".encode("gb2312") + b"];B[pd]C[" + \
        "好棋".encode("gbk") + b"])"
    root = one_tree(data)
    assert root.get("PB") == name and root.get("C") == "黑棋"
    assert root.children[0].get("C") == "好棋"


def test_latin1_text_declared_or_by_fallback():
    name = "Jörg Müller"
    assert one_tree(b"(;CA[ISO-8859-1]PW[" + name.encode("latin-1") + b"])").get("PW") == name
    assert one_tree(b"(;PW[" + name.encode("latin-1") + b"])").get("PW") == name  # not UTF-8 -> Latin-1
    assert one_tree(b"(;CA[UTF-8]PW[" + name.encode("latin-1") + b"])").get("PW") == name
    assert one_tree(b"(;CA[no-such-charset]PW[" + name.encode("utf-8") + b"])").get("PW") == name
    assert one_tree(b"(;CA[base64]PW[" + name.encode("utf-8") + b"])").get("PW") == name
    assert one_tree("(;PW[" + name + "])").get("PW") == name  # str input


def test_charset_is_per_game_tree():
    a, b = parse_sgf(b"(;CA[GBK]PB[" + "李".encode("gbk") + b"])(;CA[Latin-1]PB[" + "é".encode("latin-1") + b"])")
    assert (a.get("PB"), b.get("PB")) == ("李", "é")


# ---- game records -----------------------------------------------------------------------------------
def test_root_properties():
    record = record_of(b"(;GM[1]FF[4]SZ[19:19]KM[6.5]HA[2]RE[W+Resign]PB[Black Name]PW[White]C[root]"
                       b"AB[dd][pp];W[dp]C[first move])")
    assert (record.size, record.komi, record.handicap, record.result) == (19, 6.5, 2, "W+Resign")
    assert (record.black_player, record.white_player, record.comment) == ("Black Name", "White", "root")
    assert record.setup == Setup(black=[pt("dd"), pt("pp")])
    assert record.nodes == (GameNode(move=Move(WHITE, pt("dp")), comment="first move"),)
    empty = record_of(b"(;)")
    assert (empty.size, empty.komi, empty.handicap, empty.result, empty.nodes) == (19, 0.0, 0, None, ())


def test_move_in_root_node_becomes_first_node():
    record = record_of(b"(;SZ[9]C[hi]B[ee];W[dd])")
    assert record.comment == "hi"
    assert record.moves == [Move(BLACK, 40), Move(WHITE, 30)]


@pytest.mark.parametrize("size", [9, 19])
def test_pass_as_empty_value_and_tt(size):
    record = record_of(f"(;SZ[{size}];B[];W[tt];B[aa])")
    assert record.moves == [Move(BLACK, size * size), Move(WHITE, size * size), Move(BLACK, 0)]
    positions = list(record.replay())
    assert [p.last_move for p in positions] == [size * size, size * size, 0]


def test_setup_in_any_node_and_player_to_move():
    record = record_of(b"(;SZ[9]AB[aa][bb]AW[cc]PL[W];W[dd];AE[aa]AW[ee]PL[W];W[ff];B[gg])")
    assert record.to_move == WHITE
    assert record.nodes[1] == GameNode(setup=Setup(white=[pt("ee", 9)], empty=[pt("aa", 9)]), to_move=WHITE)
    start = record.start()
    assert start.to_move == WHITE
    assert [start.stones()[pt(p, 9)] for p in ("aa", "bb", "cc")] == [BLACK, BLACK, WHITE]
    positions = list(record.replay())
    assert len(positions) == 3
    final = positions[-1].stones()
    assert final[pt("aa", 9)] == EMPTY and final[pt("bb", 9)] == BLACK and final[pt("gg", 9)] == BLACK
    assert all(final[pt(p, 9)] == WHITE for p in ("cc", "dd", "ee", "ff"))
    assert positions[1].to_move == BLACK


def test_replay_captures_and_rules():
    # Black captures the white stone at ba with aa.
    record = record_of(b"(;SZ[5]KM[0.5];B[bb];W[ba];B[ca];W[dd];B[aa])")
    last = list(record.replay())[-1]
    assert last.stones()[pt("ba", 5)] == EMPTY
    assert last.captures[BLACK] == 1
    assert last.rules.komi == 0.5
    assert record.rules(ko="simple", allow_suicide=True).ko == "simple"


def test_illegal_move_names_source_and_move_number():
    [root] = parse_sgf(b"(;SZ[9];B[aa];W[bb];B[aa])", source="bad-game.sgf")
    record = GameRecord.from_tree(root, source="bad-game.sgf")
    with pytest.raises(SgfError, match=r"bad-game\.sgf: move 3: .*black A9.*occupied"):
        list(record.replay())


@pytest.mark.parametrize("data, message", [
    (b"(;SZ[19:13])", r"non-square board SZ\[19:13\]"),
    (b"(;SZ[1])", "unsupported board size 1"),
    (b"(;SZ[26])", "unsupported board size 26"),
    (b"(;SZ[big])", r"invalid board size SZ\[big\]"),
    (b"(;GM[2])", "not a Go game"),
    (b"(;KM[six])", r"invalid number KM\[six\]"),
    (b"(;KM[nan])", "komi must be finite"),
    (b"(;HA[x])", r"invalid number HA\[x\]"),
    (b"(;SZ[9];B[zz])", r"offset 7 \(line 1\): invalid move B\[zz\]"),
    (b"(;SZ[9]\n;B[aa]W[bb])", r"offset 8 \(line 2\): a node holds both B and W"),
    (b"(;SZ[9];B[aa][bb])", "B holds 2 values"),
    (b"(;SZ[9];AB[tt])", r"invalid point in AB\[tt\]"),
    (b"(;SZ[9];AB[aa:zz])", r"invalid point in AB\[aa:zz\]"),
    (b"(;SZ[9];PL[X])", r"invalid color PL\[X\]"),
])
def test_bad_game_records_raise_sgf_error_with_source(data, message):
    with pytest.raises(SgfError, match=message) as info:
        GameRecord.from_tree(one_tree(data), source="g.sgf")
    assert str(info.value).startswith("g.sgf")


# ---- syntax errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("data, offset, line, message", [
    (b"(;B[aa]\n;C)", 10, 2, "expected '\\[' after property identifier"),
    (b"(;B[aa];W[b", 9, 1, "unterminated property value"),
    (b"(;B[aa]", 7, 1, "unexpected end of input"),
    (b"(;B[aa] ( )", 10, 1, "expected ';' after '\\('"),
    (b"(;B[aa];W[bb](;B[cc]);W[dd])", 21, 1, "node after a variation"),
    (b"(;B[aa]\n\n[bb]x)", 13, 3, "property identifier 'x' has no capital letter"),
    (b"(;[aa])", 2, 1, "property value without an identifier"),
    (b"(;B[aa]!)", 7, 1, "unexpected character '!'"),
    (b"(;B[aa]\x00)", 7, 1, "unexpected character"),
    (b"(;B[aa]];)", 7, 1, "unexpected character '\\]'"),
    (b"", 0, 1, "no SGF game tree found"),
    (b"no sgf here [at all]", 0, 1, "no SGF game tree found"),
])
def test_syntax_errors_name_source_offset_and_line(data, offset, line, message):
    with pytest.raises(SgfError, match=f"^game\\.sgf: offset {offset} \\(line {line}\\): {message}"):
        parse_sgf(data, source="game.sgf")


def test_read_sgf_names_the_file(tmp_path):
    path = tmp_path / "broken.sgf"
    path.write_bytes(b"(;SZ[9];B[aa]")
    with pytest.raises(SgfError, match="broken.sgf: offset 13"):
        read_sgf(path)
    assert issubclass(SgfError, ValueError)


# ---- writing and round trips -------------------------------------------------------------------------
def test_write_contains_header_and_escapes_text():
    record = GameRecord(size=9, komi=7.0, handicap=2, result="B+R", black_player="a]b", white_player="c\\d",
                        setup=Setup(black=[pt("cc", 9), pt("gg", 9)]), comment="line one\nline ] two",
                        nodes=[GameNode(move=Move(WHITE, 81)), GameNode(move=Move(BLACK, 40), comment="\\]")])
    text = record.to_sgf()
    assert text.startswith("(;FF[4]CA[UTF-8]GM[1]SZ[9]KM[7]HA[2]RE[B+R]PB[a\\]b]PW[c\\\\d]")
    assert "AB[cc][gg]" in text and ";W[]" in text and ";B[ee]C[\\\\\\]]" in text
    assert GameRecord.from_tree(one_tree(text)) == record


def test_save_sgf_is_atomic_and_reloads(tmp_path):
    record = record_of(b"(;SZ[9]KM[5.5]PB[\xe5\xb0\x8f];B[ee];W[dd]C[nice])")
    path = tmp_path / "out.sgf"
    path.write_text("old contents")
    save_sgf(record, path)
    assert [p.name for p in tmp_path.iterdir()] == ["out.sgf"]  # no temp file left behind
    assert GameRecord.from_tree(read_sgf(path)[0]) == record
    assert record.black_player == "小"


_text = st.text(max_size=12)


@st.composite
def game_records(draw):
    size = draw(st.integers(coords.MIN_SIZE, coords.MAX_SIZE))
    points = st.integers(0, size * size - 1)
    point_lists = st.lists(points, max_size=4)
    setups = st.builds(Setup, black=point_lists, white=point_lists, empty=point_lists)
    colors = st.sampled_from([BLACK, WHITE])
    moves = st.builds(Move, colors, st.integers(0, size * size))
    nodes = st.builds(GameNode, move=st.none() | moves, setup=st.none() | setups, to_move=st.none() | colors,
                      comment=st.none() | _text)
    return GameRecord(
        size=size,
        komi=draw(st.integers(-400, 400)) / 2,
        handicap=draw(st.integers(0, 9)),
        result=draw(st.none() | _text),
        black_player=draw(st.none() | _text),
        white_player=draw(st.none() | _text),
        setup=draw(setups),
        to_move=draw(st.none() | colors),
        comment=draw(st.none() | _text),
        nodes=draw(st.lists(nodes, max_size=12)),
    )


@given(game_records())
@settings(max_examples=300, deadline=None)
def test_round_trip_write_then_read_gives_the_same_record(record):
    [root] = parse_sgf(record.to_sgf().encode("utf-8"))
    assert GameRecord.from_tree(root) == record


# ---- fuzzing: only SgfError may escape ----------------------------------------------------------------
_VALID = (b"(;GM[1]FF[4]CA[UTF-8]SZ[9]KM[6.5]HA[0]PB[b\\]x]PW[w]AB[aa:bb]AW[cc]PL[W]C[hi\\\n]"
          b";W[dd];B[ee](;W[ff]C[var];B[])(;W[gg];B[tt]))\n(;SZ[5];B[aa])")


def _check_only_sgf_errors(data: bytes) -> None:
    try:
        roots = parse_sgf(data, source="fuzz.sgf")
    except SgfError as e:
        assert str(e).startswith("fuzz.sgf: offset ")
        return
    for root in roots:
        try:
            record = GameRecord.from_tree(root, source="fuzz.sgf")
            for _ in islice(record.replay(), 50):
                pass
            assert GameRecord.from_tree(one_tree(record.to_sgf())) == record
        except SgfError:
            pass


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_fuzz_random_bytes(data):
    _check_only_sgf_errors(data)


_PIECES = [b"(", b")", b";", b"[", b"]", b"\\", b"B", b"W", b"AB", b"AE", b"PL", b"SZ", b"[9]", b"[19:13]",
           b"[aa]", b"[tt]", b"[]", b"[aa:ii]", b"[zz]", b" ", b"\n", b"\r", b"xy", b"CA[gbk]", b"\xd6\xd0"]


@given(st.lists(st.sampled_from(_PIECES), max_size=40))
@settings(max_examples=400, deadline=None)
def test_fuzz_token_soup(pieces):
    _check_only_sgf_errors(b"(;" + b"".join(pieces))


@given(st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, len(_VALID)),
                          st.binary(min_size=1, max_size=3)), min_size=1, max_size=6))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_mutations_of_a_valid_file(edits):
    data = bytearray(_VALID)
    for op, at, chunk in edits:
        at = min(at, len(data))
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at:at + len(chunk)]
        else:
            data[at:at + len(chunk)] = chunk
    _check_only_sgf_errors(bytes(data))


def test_the_valid_fuzz_seed_parses():
    first, second = parse_sgf(_VALID)
    record = GameRecord.from_tree(first)
    assert record.black_player == "b]x" and record.comment == "hi"
    assert [m.point for m in record.moves] == [pt("dd", 9), pt("ee", 9), pt("ff", 9), 81]
    assert len(list(record.replay())) == 4 and GameRecord.from_tree(second).size == 5


# ---- streaming many games ----------------------------------------------------------------------------
_GOOD_A = b"(;SZ[9];B[ee];W[dd])"
_GOOD_B = b"(;SZ[9];B[cc])(;SZ[13];B[dd])"  # two games in one file
_BAD_SYNTAX = b"(;SZ[9];B[ee"
_BAD_SIZE = b"(;SZ[19:9];B[aa])"
_FILES = {"a.sgf": _GOOD_A, "sub/b.SGF": _GOOD_B, "sub/c.sgf": _BAD_SYNTAX, "z/nonsquare.sgf": _BAD_SIZE,
          "notes.txt": b"not a game"}
_EXPECTED = ["a.sgf", "sub/b.SGF#1", "sub/b.SGF#2"]


def _collect(path, caplog):
    stats = SgfStats()
    with caplog.at_level(logging.WARNING, logger="games.go.sgf"):
        games = list(iter_games(path, stats=stats))
    warnings = [r for r in caplog.records if r.name == "games.go.sgf"]
    return games, stats, warnings


def _check_collected(games, stats, warnings):
    assert [name for name, _ in games] == _EXPECTED
    assert [r.size for _, r in games] == [9, 9, 13]
    assert stats == SgfStats(games=3, errors=2)
    assert len(warnings) == 2
    assert any("sub/c.sgf" in r.getMessage() and "offset" in r.getMessage() for r in warnings)
    assert any("non-square" in r.getMessage() for r in warnings)


def test_iter_games_over_a_directory(tmp_path, caplog):
    for name, data in _FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    _check_collected(*_collect(tmp_path, caplog))


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w")])
def test_iter_games_over_a_tar_archive(tmp_path, caplog, suffix, mode):
    path = tmp_path / f"games{suffix}"
    with tarfile.open(path, mode) as archive:
        for name, data in _FILES.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    _check_collected(*_collect(path, caplog))


def test_iter_games_over_a_zip_archive(tmp_path, caplog):
    path = tmp_path / "games.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in _FILES.items():
            archive.writestr(name, data)
    _check_collected(*_collect(path, caplog))


def test_iter_games_over_one_file_and_laziness(tmp_path):
    path = tmp_path / "two.sgf"
    path.write_bytes(_GOOD_B)
    games = iter_games(path)
    name, record = next(games)
    assert name == f"{path}#1" and record.source == name
    assert [n for n, _ in games] == [f"{path}#2"]


def test_iter_games_missing_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.tar.gz"
    with pytest.raises(FileNotFoundError, match="nowhere.tar.gz"):
        iter_games(missing)


def test_corrupt_archive_raises_sgf_error(tmp_path):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    with pytest.raises(SgfError, match="broken.tar.gz"):
        list(iter_games(path))


# ---- the real archive ---------------------------------------------------------------------------------
def test_real_archive_first_300_games_replay_legally(tom_archive):
    stats = SgfStats()
    num_games = num_positions = 0
    for name, record in islice(iter_games(tom_archive, stats=stats), 300):
        assert record.size == 19 and record.komi in (6.5, 7.5), name
        positions = list(record.replay())
        assert len(positions) == record.num_moves
        num_positions += len(positions)
        num_games += 1
    assert num_games == 300 and stats.errors == 0
    assert num_positions > 300 * 100


def test_inplace_replay_matches_the_immutable_one():
    record = record_of("(;SZ[5];B[cc];W[bc];B[dc];W[cb];B[cd];W[ab];B[bd];W[ad];B[ca];W[ac])")
    slow = [(p.stones().tolist(), p.to_move, p.captures) for p in record.replay()]
    fast = [(p.stones().tolist(), p.to_move, p.captures) for p in record.replay(inplace=True)]
    assert slow == fast and len(slow) == record.num_moves
