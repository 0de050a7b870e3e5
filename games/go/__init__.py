"""Go: compiled rules engine, coordinates, SGF, GTP and a gymnasium environment."""

from games.go.board import (
    BLACK,
    EMPTY,
    KO_RULES,
    WHITE,
    IllegalMoveError,
    Position,
    Rules,
    color_name,
    fixed_handicap_points,
    max_fixed_handicap,
    opponent,
    parse_color,
    score_to_result,
)

__all__ = [
    "BLACK",
    "EMPTY",
    "KO_RULES",
    "WHITE",
    "IllegalMoveError",
    "Position",
    "Rules",
    "color_name",
    "fixed_handicap_points",
    "max_fixed_handicap",
    "opponent",
    "parse_color",
    "score_to_result",
]
