"""SGF (Smart Game Format) for Go: parse, write, replay and stream game records.

Reading accepts FF[1] to FF[4]: several game trees per file, variations,
escapes and soft line breaks, lowercase letters inside FF[1]-FF[3] property
identifiers (``AddBlack`` means ``AB``), compressed point lists (``aa:cc``)
and any character set named by ``CA`` (text falls back to Latin-1 when it
does not decode).  The file is parsed as bytes (the structure characters are
ASCII) and the values are decoded afterwards.

Two levels of model:

* ``SgfNode``: the raw tree, ``props`` (identifier -> values) and ``children``.
* ``GameRecord``: the main line of a Go game, with moves and setup as flat
  indices (``games.go.coords``), ready to ``replay`` into positions or to be
  written back with ``to_sgf``.

Every malformed input raises ``SgfError`` naming the source and, for syntax
errors, the byte offset and line.  ``iter_games`` streams records from a
file, a directory or an archive, skipping (and counting) the bad ones.

>>> [record] = [GameRecord.from_tree(t) for t in parse_sgf("(;SZ[9]KM[7];B[ee];W[])")]
>>> record.size, record.komi, [tuple(m) for m in record.moves]
(9, 7.0, [(1, 40), (2, 81)])
"""

from __future__ import annotations

import codecs
import errno
import functools
import logging
import math
import os
import re
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from games.go import coords
from games.go.board import BLACK, WHITE, IllegalMoveError, Position, Rules

__all__ = [
    "GameNode",
    "GameRecord",
    "Move",
    "Setup",
    "SgfError",
    "SgfNode",
    "SgfStats",
    "iter_games",
    "iter_roots",
    "parse_sgf",
    "read_sgf",
    "save_sgf",
]

_log = logging.getLogger(__name__)  # "games.go.sgf"


class SgfError(ValueError):
    """A malformed or unsupported SGF input; the message names the source (and offset when known)."""


# ---------------------------------------------------------------------------
# Raw tree
# ---------------------------------------------------------------------------
@dataclass(slots=True, eq=False, repr=False)
class SgfNode:
    """One SGF node: ``props`` maps an identifier (``"B"``, ``"AB"``) to its values.

    Not frozen: the parser grows the tree in place.  ``offset`` and ``line``
    locate the node's ``;`` in the source (for messages; ignored by ``==``).
    ``==`` and ``repr`` are iterative, so a 300-move main line is no problem.
    """

    props: dict[str, list[str]] = field(default_factory=dict)
    children: list[SgfNode] = field(default_factory=list)
    offset: int = -1
    line: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SgfNode):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a.props != b.props or len(a.children) != len(b.children):
                return False
            pairs.extend(zip(a.children, b.children))
        return True

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        return f"SgfNode(props={self.props!r}, children=<{len(self.children)}>, offset={self.offset})"

    def get(self, ident: str, default: str | None = None) -> str | None:
        """The first value of ``ident``, or ``default`` when the property is absent."""
        values = self.props.get(ident)
        return values[0] if values else default

    def main_line(self) -> Iterator[SgfNode]:
        """This node and the first child at each step down."""
        node: SgfNode | None = self
        while node is not None:
            yield node
            node = node.children[0] if node.children else None

    def walk(self) -> Iterator[SgfNode]:
        """Every node of the subtree in pre-order (iterative: safe on deep trees)."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------
# One token per match, leading whitespace included; a '[' without its ']' falls to <bad>.
# <simple> is a fast path for the common node holding one single-valued property (";B[pd]").
_TOKEN = re.compile(
    rb"""\s*(?:
      (?P<simple>;\s*(?P<sid>[A-Z]+)\s*\[(?P<sval>[^\\\]]*)\](?=\s*[;()]))
    | \[(?P<value>[^\\\]]*(?:\\.[^\\\]]*)*)\]
    | (?P<ident>[A-Za-z]+)
    | (?P<semi>;)
    | (?P<open>\()
    | (?P<close>\))
    | (?P<bad>.)
    )""",
    re.X | re.S,
)
_ESCAPE = re.compile(rb"\\(\r\n|\n\r|\r|\n|.)", re.S)
_LOWER = bytes(range(ord("a"), ord("z") + 1))
_GB_ALIASES = {"gb2312", "gb_2312", "gb_2312-80", "gbk", "cp936", "euc-cn", "euccn", "x-gbk", "gb18030", "936"}


def _unescape(m: re.Match) -> bytes:
    ch = m.group(1)
    return b"" if ch[:1] in (b"\r", b"\n") else ch  # a soft line break vanishes, an escaped char stays


def _codec(name: str | None) -> str:
    """The Python codec for a CA value; unknown or absent -> UTF-8 (Latin-1 is the fallback anyway)."""
    if name is None:
        return "utf-8"
    key = name.strip().lower()
    if key in _GB_ALIASES:
        return "gb18030"  # a superset of GB2312 and GBK
    try:
        codec = codecs.lookup(key).name
    except (LookupError, ValueError):  # ValueError: a name with a NUL byte
        codec = None
    try:
        if codec is not None:
            b"ab".decode(codec)  # a LookupError for bytes-to-bytes codecs (base64, zlib, ...)
    except LookupError:
        codec = None
    except ValueError:
        pass  # a text codec that dislikes this sample
    if codec is None:
        _log.debug("unknown SGF charset %r: decoding as UTF-8, else Latin-1", name)
        return "utf-8"
    return codec


def _decode(raw: bytes, codec: str) -> str:
    if b"\\" in raw:
        raw = _ESCAPE.sub(_unescape, raw)
    try:
        return raw.decode(codec)
    except ValueError:  # UnicodeDecodeError and the odd codec's own complaints
        return raw.decode("latin-1")


def _decode_root(root: SgfNode) -> str:
    """Decode the root's raw values with the charset its CA names; return that codec for the rest of the tree."""
    ca = root.props.get("CA")
    codec = _codec(_decode(ca[0], "latin-1") if ca else None)
    for ident, values in root.props.items():
        root.props[ident] = [_decode(v, codec) for v in values]
    return codec


def _error(source: str, data: bytes, offset: int, message: str) -> SgfError:
    line = data.count(b"\n", 0, offset) + 1
    return SgfError(f"{source}: offset {offset} (line {line}): {message}")


def parse_sgf(data: bytes | str, *, source: str = "<string>") -> list[SgfNode]:
    """Parse SGF text into the root nodes of its game trees (in file order).

    ``str`` input is encoded as UTF-8 first.  Text before the first game
    tree and between trees is ignored; anything malformed inside a tree raises
    ``SgfError("<source>: offset N (line L): ...")``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise TypeError(f"parse_sgf expects bytes or str, got {type(data).__name__}")

    roots: list[SgfNode] = []
    # One frame per open '(': [node the sequence hangs from, last node of the sequence, variation seen].
    stack: list[list] = []
    node: SgfNode | None = None         # node receiving properties
    values: list | None = None           # values of the property being read
    codec: str | None = None             # the tree's charset, known once its root is complete
    need_value = need_node = False       # an identifier waits for '[', a '(' waits for ';'
    pending_open = False                 # outside a tree: the last token was '('
    line, line_pos = 1, 0

    for m in _TOKEN.finditer(data):
        kind = m.lastgroup
        if not stack:  # outside any game tree: skip junk until "(;"
            if pending_open and (kind == "semi" or kind == "simple"):
                stack.append([None, None, False])
                need_node, codec = True, None
            else:
                pending_open = kind == "open"
                continue
        start = m.start(kind) - (kind == "value")  # the offset of the token's first byte ('[' for a value)
        if kind == "bad":
            what = "unterminated property value (missing ']')" if data[start] == 0x5B else \
                f"unexpected character {chr(data[start])!r}"
            raise _error(source, data, start, what)
        if need_value and kind != "value":
            raise _error(source, data, start, "expected '[' after property identifier")
        if need_node and kind != "semi" and kind != "simple":
            raise _error(source, data, start, "expected ';' after '('")
        if kind == "value":
            if values is None:
                raise _error(source, data, start, "property value without an identifier")
            raw = m.group("value")
            values.append(_decode(raw, codec) if codec else raw)
            need_value = False
            continue
        if kind == "ident":
            if node is None:
                raise _error(source, data, start, "property outside a node")
            raw = m.group("ident")
            ident = raw.translate(None, _LOWER)  # FF[1]-FF[3]: "AddBlack" is "AB"
            if not ident:
                raise _error(source, data, start, f"property identifier {raw.decode()!r} has no capital letter")
            values = node.props.setdefault(ident.decode("ascii"), [])
            need_value = True
            continue
        if codec is None and node is not None:  # the root node just ended
            codec = _decode_root(node)
        values = None
        if kind == "semi" or kind == "simple":
            frame = stack[-1]
            if frame[2]:
                raise _error(source, data, start, "node after a variation: expected '(' or ')'")
            line += data.count(b"\n", line_pos, start)
            line_pos = start
            node = SgfNode({}, [], start, line)
            parent = frame[1] if frame[1] is not None else frame[0]
            if parent is None:
                roots.append(node)
            else:
                parent.children.append(node)
            frame[1] = node
            need_node = False
            if kind == "simple":
                raw = m.group("sval")
                node.props[m.group("sid").decode("ascii")] = [_decode(raw, codec) if codec else raw]
        elif kind == "open":
            stack.append([stack[-1][1], None, False])
            node = None
            need_node = True
        else:  # close
            stack.pop()
            node = None
            if stack:
                stack[-1][2] = True
            else:
                pending_open = False

    if stack:
        raise _error(source, data, len(data), f"unexpected end of input: {len(stack)} game tree(s) not closed")
    if not roots:
        raise _error(source, data, 0, "no SGF game tree found (expected '(;')")
    return roots


def read_sgf(path: str | os.PathLike) -> list[SgfNode]:
    """Parse an SGF file into the root nodes of its game trees."""
    path = Path(path)
    return parse_sgf(path.read_bytes(), source=str(path))


# ---------------------------------------------------------------------------
# Game records
# ---------------------------------------------------------------------------
class Move(NamedTuple):
    color: int  # BLACK or WHITE
    point: int  # flat index, pass = size * size


def _points(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(int(v) for v in values)))


@dataclass(frozen=True)
class Setup:
    """Stones placed (``AB``/``AW``) or removed (``AE``) directly: sorted, duplicate-free flat indices."""

    black: tuple[int, ...] = ()
    white: tuple[int, ...] = ()
    empty: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("black", "white", "empty"):
            object.__setattr__(self, name, _points(getattr(self, name)))

    def __bool__(self) -> bool:
        return bool(self.black or self.white or self.empty)

    def apply(self, pos: Position) -> Position:
        return pos.with_setup(black=self.black, white=self.white, empty=self.empty) if self else pos


@dataclass(frozen=True)
class GameNode:
    """One node of the main line after the root: setup, then player to move, then the move."""

    move: Move | None = None
    setup: Setup | None = None
    to_move: int | None = None  # SGF PL
    comment: str | None = None  # SGF C

    def __post_init__(self) -> None:
        if self.setup is not None and not self.setup:
            object.__setattr__(self, "setup", None)  # an empty setup is no setup


@dataclass(frozen=True)
class GameRecord:
    """The main line of one Go game.

    ``setup``/``to_move``/``comment`` belong to the root node; a move in the
    root node becomes ``nodes[0]``.  ``komi`` is 0 when ``KM`` is absent.
    ``source`` names where the record came from (for messages only).
    """

    size: int = 19
    komi: float = 0.0
    handicap: int = 0
    result: str | None = None
    black_player: str | None = None
    white_player: str | None = None
    setup: Setup = field(default_factory=Setup)
    to_move: int | None = None
    comment: str | None = None
    nodes: tuple[GameNode, ...] = ()
    source: str = field(default="<record>", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        try:
            coords.check_size(self.size)
        except coords.CoordError as e:
            raise SgfError(f"{self.source}: unsupported board: {e}") from None
        if not math.isfinite(self.komi):
            raise SgfError(f"{self.source}: komi must be finite, got {self.komi!r}")
        object.__setattr__(self, "komi", float(self.komi))

    @property
    def moves(self) -> list[Move]:
        """The main-line moves in order (passes included)."""
        return [n.move for n in self.nodes if n.move is not None]

    @property
    def num_moves(self) -> int:
        return sum(n.move is not None for n in self.nodes)

    # ---- reading -----------------------------------------------------------
    @classmethod
    def from_tree(cls, root: SgfNode, *, source: str = "<tree>") -> GameRecord:
        """The record of ``root``'s main line (first child at every node).

        Raises SgfError for a non-Go game, an unsupported or non-square board,
        bad numbers, points off the board or two moves in one node.
        """
        props = root.props
        where = f"{source}: offset {root.offset} (line {root.line})" if root.offset >= 0 else source
        gm = root.get("GM", "1").strip()
        if gm not in ("", "1"):
            raise SgfError(f"{where}: GM[{gm}] is not a Go game")
        size = _parse_size(root.get("SZ"), where)
        komi = _parse_number(root.get("KM"), float, "KM", where, default=0.0)
        if not math.isfinite(komi):
            raise SgfError(f"{where}: komi must be finite, got KM[{root.get('KM')}]")
        handicap = _parse_number(root.get("HA"), int, "HA", where, default=0)

        root_node = _game_node(root, size, source)
        nodes = [GameNode(move=root_node.move)] if root_node.move is not None else []
        for sgf_node in root.main_line():
            if sgf_node is not root:
                nodes.append(_game_node(sgf_node, size, source))
        return cls(
            size=size,
            komi=komi,
            handicap=handicap,
            result=_text(props, "RE"),
            black_player=_text(props, "PB"),
            white_player=_text(props, "PW"),
            setup=root_node.setup or Setup(),
            to_move=root_node.to_move,
            comment=root_node.comment,
            nodes=tuple(nodes),
            source=source,
        )

    # ---- replay ------------------------------------------------------------
    def rules(self, *, ko: str = "positional", allow_suicide: bool = False) -> Rules:
        return Rules(size=self.size, komi=self.komi, ko=ko, allow_suicide=allow_suicide)

    def start(self, *, ko: str = "positional", allow_suicide: bool = False) -> Position:
        """The position before the first node: root setup and player to move applied."""
        pos = self.setup.apply(Position.empty(self.rules(ko=ko, allow_suicide=allow_suicide)))
        return pos.with_to_move(self.to_move) if self.to_move is not None else pos

    def replay(self, *, ko: str = "positional", allow_suicide: bool = False,
               inplace: bool = False) -> Iterator[Position]:
        """Yield the position after each main-line move (``pos.last_move`` is that move).

        With ``inplace`` one Position object is yielded again and again, mutated
        (the fast path for streaming consumers that do not keep positions).

        Raises SgfError naming the source and the move number at an illegal move.
        """
        pos = self.start(ko=ko, allow_suicide=allow_suicide)
        number = 0
        for node in self.nodes:
            if node.setup:
                pos = node.setup.apply(pos)
            if node.to_move is not None:
                pos = pos.with_to_move(node.to_move)
            if node.move is not None:
                number += 1
                color, point = node.move
                try:
                    pos = pos.play(point, color, inplace=inplace)
                except IllegalMoveError as e:
                    raise SgfError(f"{self.source}: move {number}: {e}") from None  # e names colour and vertex
                yield pos

    # ---- writing -----------------------------------------------------------
    def to_sgf(self) -> str:
        """FF[4] UTF-8 text of this record; ``parse_sgf`` + ``from_tree`` give it back."""
        n = self.size
        head = [f"FF[4]CA[UTF-8]GM[1]SZ[{n}]KM[{_format_real(self.komi)}]"]
        if self.handicap:
            head.append(f"HA[{self.handicap}]")
        for ident, text in (("RE", self.result), ("PB", self.black_player), ("PW", self.white_player)):
            if text is not None:
                head.append(f"{ident}[{_escape(text)}]")
        head.append(_node_body(GameNode(setup=self.setup, to_move=self.to_move, comment=self.comment), n))
        lines = ["(;" + "".join(head)]
        body = [";" + _node_body(node, n) for node in self.nodes]
        lines.extend("".join(body[i:i + 16]) for i in range(0, len(body), 16))
        return "\n".join(lines) + ")\n"


def _parse_size(value: str | None, where: str) -> int:
    if value is None:
        return 19
    parts = value.strip().split(":")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        raise SgfError(f"{where}: invalid board size SZ[{value}]") from None
    if len(dims) not in (1, 2):
        raise SgfError(f"{where}: invalid board size SZ[{value}]")
    if len(dims) == 2 and dims[0] != dims[1]:
        raise SgfError(f"{where}: non-square board SZ[{value}] ({dims[0]}x{dims[1]}) is not supported")
    size = dims[0]
    if not coords.MIN_SIZE <= size <= coords.MAX_SIZE:
        raise SgfError(f"{where}: unsupported board size {size} (expected {coords.MIN_SIZE} to {coords.MAX_SIZE})")
    return size


def _parse_number(value: str | None, kind: type, ident: str, where: str, *, default):
    if value is None or not value.strip():
        return default
    try:
        return kind(value.strip())
    except ValueError:
        raise SgfError(f"{where}: invalid number {ident}[{value}]") from None


def _text(props: dict[str, list[str]], ident: str) -> str | None:
    values = props.get(ident)
    return values[0] if values else None


class _Invalid(Exception):
    """A bad property value; ``_game_node`` adds where it is."""


def _color(value: str) -> int:
    v = value.strip().upper()
    if v in ("B", "BLACK", "1"):
        return BLACK
    if v in ("W", "WHITE", "2"):
        return WHITE
    raise _Invalid(f"invalid color PL[{value}]")


def _point_list(values: list[str], size: int, ident: str) -> list[int]:
    """Expand an SGF point list (single points and ``aa:cc`` rectangles) into flat indices."""
    out: list[int] = []
    for value in values:
        try:
            if ":" in value:
                a, b = value.split(":", 1)
                r1, c1 = coords.to_rc(coords.from_sgf(a, size), size)
                r2, c2 = coords.to_rc(coords.from_sgf(b, size), size)
                out.extend(r * size + c for r in range(min(r1, r2), max(r1, r2) + 1)
                           for c in range(min(c1, c2), max(c1, c2) + 1))
            else:
                p = coords.from_sgf(value, size)
                if p == size * size:
                    raise coords.CoordError(f"{value!r} is a pass, not a point")
                out.append(p)
        except coords.CoordError as e:
            raise _Invalid(f"invalid point in {ident}[{value}]: {e}") from None
    return out


@functools.lru_cache(maxsize=None)
def _move_nodes(size: int) -> dict[tuple[str, str], GameNode]:
    """Shared GameNode for every bare move node ``B[..]``/``W[..]`` on this board (they are immutable)."""
    table = {}
    for value in [coords.to_sgf(p, size) for p in range(size * size + 1)] + (["tt"] if size <= 19 else []):
        point = coords.from_sgf(value, size)
        table["B", value] = GameNode(move=Move(BLACK, point))
        table["W", value] = GameNode(move=Move(WHITE, point))
    return table


def _game_node(node: SgfNode, size: int, source: str) -> GameNode:
    props = node.props
    if len(props) == 1:  # fast path: a node holding one move and nothing else
        for key, values in props.items():
            if len(values) == 1:
                shared = _move_nodes(size).get((key, values[0]))
                if shared is not None:
                    return shared
    try:
        return _parse_game_node(props, size)
    except _Invalid as e:
        where = f"{source}: offset {node.offset} (line {node.line})" if node.offset >= 0 else source
        raise SgfError(f"{where}: {e}") from None


def _parse_game_node(props: dict[str, list[str]], size: int) -> GameNode:
    move = None
    if "B" in props or "W" in props:
        if "B" in props and "W" in props:
            raise _Invalid("a node holds both B and W moves")
        ident = "B" if "B" in props else "W"
        values = props[ident]
        if len(values) != 1:
            raise _Invalid(f"{ident} holds {len(values)} values, expected one move")
        try:
            move = Move(BLACK if ident == "B" else WHITE, coords.from_sgf(values[0].strip(), size))
        except coords.CoordError as e:
            raise _Invalid(f"invalid move {ident}[{values[0]}]: {e}") from None
    setup = None
    if "AB" in props or "AW" in props or "AE" in props:
        setup = Setup(black=_point_list(props.get("AB", []), size, "AB"),
                      white=_point_list(props.get("AW", []), size, "AW"),
                      empty=_point_list(props.get("AE", []), size, "AE"))
    to_move = _color(props["PL"][0]) if props.get("PL") else None
    comment = props["C"][0] if props.get("C") else None
    return GameNode(move=move, setup=setup, to_move=to_move, comment=comment)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _format_real(x: float) -> str:
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _node_body(node: GameNode, size: int) -> str:
    parts = []
    if node.setup is not None:
        for ident, points in (("AE", node.setup.empty), ("AB", node.setup.black), ("AW", node.setup.white)):
            if points:
                parts.append(ident + "".join(f"[{coords.to_sgf(p, size)}]" for p in points))
    if node.to_move is not None:
        parts.append(f"PL[{'B' if node.to_move == BLACK else 'W'}]")
    if node.move is not None:
        color, point = node.move
        parts.append(f"{'B' if color == BLACK else 'W'}[{coords.to_sgf(point, size)}]")
    if node.comment is not None:
        parts.append(f"C[{_escape(node.comment)}]")
    return "".join(parts)


def save_sgf(record: GameRecord, path: str | os.PathLike) -> None:
    """Write ``record`` as UTF-8 SGF atomically: temp file in the same folder, fsync, rename."""
    path = Path(path)
    data = record.to_sgf().encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), 0o644)  # mkstemp makes 0600
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ---------------------------------------------------------------------------
# Streaming many games
# ---------------------------------------------------------------------------
@dataclass
class SgfStats:
    """Counters filled in by ``iter_games``: records yielded and games/files skipped."""

    games: int = 0
    errors: int = 0


_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def iter_games(path: str | os.PathLike, *, stats: SgfStats | None = None) -> Iterator[tuple[str, GameRecord]]:
    """Lazily yield ``(name, record)`` for every game under ``path``.

    ``path`` is an SGF file, a directory (every ``*.sgf`` below it, sorted), a
    tar archive (``.tar``, ``.tar.gz``, ``.tgz``; streamed, never extracted)
    or a ``.zip``.  A file with several game trees yields ``name#1``,
    ``name#2``, ...  Names inside a directory or archive are relative to it.
    Bad games are logged, counted in ``stats.errors`` and skipped; a missing
    path raises FileNotFoundError at once, an unreadable archive SgfError.
    """
    path, stats = _start(path, stats)
    return _iter_games(path, stats)


def iter_roots(path: str | os.PathLike, *, stats: SgfStats | None = None) -> Iterator[tuple[str, SgfNode]]:
    """Like ``iter_games``, but yields ``(name, root node)`` of every game tree without building its
    record: what reading only the game's properties (PB, PW, RE) needs."""
    path, stats = _start(path, stats)
    return _counted(_iter_roots(path, stats), stats)


def _start(path: str | os.PathLike, stats: SgfStats | None) -> tuple[Path, SgfStats]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "SGF path not found", str(path))
    return path, stats if stats is not None else SgfStats()


def _counted(items: Iterator[tuple[str, SgfNode]], stats: SgfStats) -> Iterator[tuple[str, SgfNode]]:
    for item in items:
        stats.games += 1
        yield item


def _iter_roots(path: Path, stats: SgfStats) -> Iterator[tuple[str, SgfNode]]:
    for name, data in _iter_files(path, stats):
        try:
            roots = parse_sgf(data, source=name)
        except SgfError as e:
            _skip(stats, path, e)
            continue
        for i, root in enumerate(roots, 1):
            yield (name if len(roots) == 1 else f"{name}#{i}"), root


def _iter_games(path: Path, stats: SgfStats) -> Iterator[tuple[str, GameRecord]]:
    for name, root in _iter_roots(path, stats):
        try:
            record = GameRecord.from_tree(root, source=name)
        except SgfError as e:
            _skip(stats, path, e)
            continue
        stats.games += 1
        yield name, record


def _skip(stats: SgfStats, path: Path, error: Exception) -> None:
    stats.errors += 1
    _log.warning("skipping a bad game in %s: %s", path, error)


def _is_sgf(name: str) -> bool:
    return name.lower().endswith(".sgf")


def _iter_files(path: Path, stats: SgfStats) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every SGF file under ``path``."""
    lower = path.name.lower()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if _is_sgf(p.name) and p.is_file()):
            try:
                data = file.read_bytes()
            except OSError as e:
                _skip(stats, path, e)
                continue
            yield str(file.relative_to(path)), data
    elif lower.endswith(_TAR_SUFFIXES):
        try:
            with tarfile.open(path, mode="r|*") as archive:
                for member in archive:
                    if member.isfile() and _is_sgf(member.name):
                        f = archive.extractfile(member)
                        if f is not None:
                            yield member.name, f.read()
        except (tarfile.TarError, EOFError, OSError) as e:
            raise SgfError(f"{path}: unreadable tar archive: {e}") from e
    elif lower.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and _is_sgf(info.filename):
                        yield info.filename, archive.read(info)
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise SgfError(f"{path}: unreadable zip archive: {e}") from e
    else:
        yield str(path), path.read_bytes()
