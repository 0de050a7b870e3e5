"""The one place where Go coordinates are converted.

A move is a flat index ``p = row * size + col`` with ``row`` 0 at the *top*
of the board (SGF orientation), ``col`` 0 at the left; ``PASS`` is
``size * size``.  GTP vertices count rows from the bottom and skip the
letter I (``A1`` is the lower-left corner); SGF points are two letters
column-then-row from the top-left (``dd``), with ``tt`` or the empty value
meaning pass (``tt`` only on boards up to 19x19).
"""

from __future__ import annotations

__all__ = [
    "CoordError",
    "GTP_COLUMNS",
    "MAX_SIZE",
    "MIN_SIZE",
    "from_gtp",
    "from_sgf",
    "pass_move",
    "to_gtp",
    "to_sgf",
    "to_rc",
    "from_rc",
]

MIN_SIZE = 2
MAX_SIZE = 25
GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # no I
_SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class CoordError(ValueError):
    """A vertex or point that does not name a move on this board."""


def check_size(size: int) -> int:
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise CoordError(f"board size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    return size


def pass_move(size: int) -> int:
    return size * size


def to_rc(p: int, size: int) -> tuple[int, int]:
    """Flat index -> (row from top, column from left)."""
    if not 0 <= p < size * size:
        raise CoordError(f"{p} is not a point on a {size}x{size} board")
    return divmod(p, size)


def from_rc(row: int, col: int, size: int) -> int:
    if not (0 <= row < size and 0 <= col < size):
        raise CoordError(f"({row}, {col}) is off a {size}x{size} board")
    return row * size + col


def to_gtp(p: int, size: int) -> str:
    """Flat index -> GTP vertex (``D4``, ``pass``)."""
    if p == size * size:
        return "pass"
    row, col = to_rc(p, size)
    return f"{GTP_COLUMNS[col]}{size - row}"


def from_gtp(vertex: str, size: int) -> int:
    """GTP vertex (any case) -> flat index; ``pass`` -> ``size * size``."""
    v = vertex.strip().upper()
    if v == "PASS":
        return size * size
    if len(v) < 2 or v[0] not in GTP_COLUMNS or not v[1:].isdigit():
        raise CoordError(f"invalid vertex {vertex!r}")
    col = GTP_COLUMNS.index(v[0])
    number = int(v[1:])
    if col >= size or not 1 <= number <= size:
        raise CoordError(f"vertex {vertex!r} is off a {size}x{size} board")
    return (size - number) * size + col


def to_sgf(p: int, size: int) -> str:
    """Flat index -> SGF point (``dd``); pass is written as the empty value."""
    if p == size * size:
        return ""
    row, col = to_rc(p, size)
    return _SGF_LETTERS[col] + _SGF_LETTERS[row]


def from_sgf(point: str, size: int) -> int:
    """SGF point -> flat index; ``""`` and (up to 19x19) ``tt`` -> pass."""
    if point == "" or (point == "tt" and size <= 19):
        return size * size
    if len(point) != 2 or point[0] not in _SGF_LETTERS or point[1] not in _SGF_LETTERS:
        raise CoordError(f"invalid SGF point {point!r}")
    col = _SGF_LETTERS.index(point[0])
    row = _SGF_LETTERS.index(point[1])
    if col >= size or row >= size:
        raise CoordError(f"SGF point {point!r} is off a {size}x{size} board")
    return row * size + col
