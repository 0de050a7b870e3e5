"""The fast rollout policy: features on ASCII boards, probabilities, the compiled sampler and playouts."""

import numpy as np
import pytest

from games.go import BLACK, WHITE, Position, Rules, _core
from games.go import rollout as R


def board(text: str, *, to_move=BLACK, **rules) -> Position:
    size = len([r for r in text.strip().splitlines() if r.strip()])
    return Position.from_ascii(text, Rules(size=size, **rules), to_move=to_move)


def random_weights(seed: int = 0, scale: float = 0.5, self_atari: float = -2.0) -> np.ndarray:
    w = (np.random.default_rng(seed).normal(size=R.num_features()) * scale).astype(np.float32)
    w[R.OFF_SELF_ATARI] = self_atari
    return w


def names(policy: R.RolloutPolicy, pos: Position) -> dict[int, set[str]]:
    return {p: {R.feature_name(f) for f in fs} for p, fs in policy.active_features(pos).items()}


def test_save_atari_and_capture_fire_at_the_liberty_of_a_chain_in_atari():
    text = """
        . . . . .
        . . O . .
        . O X O .
        . . . . .
        . . . . .
    """
    pol = R.RolloutPolicy(random_weights(), 5)
    black = names(pol, board(text, to_move=BLACK))
    assert "save_atari" in black[17]  # the X at C3 has its last liberty at C2 (row 3, col 2)
    assert [p for p, f in black.items() if "save_atari" in f] == [17]
    assert not any("capture" in f for f in black.values())
    white = names(pol, board(text, to_move=WHITE))
    assert "capture" in white[17]
    assert [p for p, f in white.items() if "capture" in f] == [17]
    assert not any("save_atari" in f for f in white.values())


def test_self_atari_eye_and_suicide():
    pos = board("""
        . O . . .
        O . O . .
        . . . . .
        . . . . .
        . . . . .
    """)
    pol = R.RolloutPolicy(random_weights(), 5)
    feats = names(pol, pos)
    assert 0 not in feats  # suicide
    # B4 (6) would keep only B3, C5 (2) only D5
    assert {p for p, f in feats.items() if "self_atari" in f} == {2, 6}
    probs = pol.move_probs(pos)
    assert probs[0] == 0 and probs[6] > 0
    eye = board("""
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert 0 not in pol.active_features(eye)  # black's own eye is never a candidate
    assert pol.move_probs(eye)[0] == 0


def test_self_atari_by_capturing_two_stones_is_not_the_rollout_feature_but_is_a_feature_plane():
    """The two definitions the docstrings state: black A5 captures the two white stones B5 C5 and is then
    left with one liberty (B5).  The rollout feature never counts a capture of two or more stones; the
    alphago48 planes count liberties exactly (self-atari size 1, one liberty after the move)."""
    from games.go.features import P_LIBS_AFTER, P_SELF_ATARI, encode_position

    pos = board("""
        . O O X .
        O X X . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert pos.is_legal(0)
    after = pos.play(0)
    assert after.liberties_at(0) == 1 and after.captures[BLACK] == 2  # a self-atari, counted exactly
    feats = names(R.RolloutPolicy(random_weights(), 5), pos)
    assert "capture" in feats[0] and "self_atari" not in feats[0]
    x = encode_position(pos, "alphago48").reshape(48, 25)
    assert x[P_SELF_ATARI, 0] == 1 and x[P_SELF_ATARI + 1:P_SELF_ATARI + 8, 0].sum() == 0
    assert x[P_LIBS_AFTER, 0] == 1
    # a lone captured stone counts as its liberty: still a self-atari for the rollout feature
    lone = board("""
        . O X . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert lone.play(0).liberties_at(0) == 1
    assert "self_atari" in names(R.RolloutPolicy(random_weights(), 5), lone)[0]


def test_response_features_follow_the_last_two_moves():
    pol = R.RolloutPolicy(random_weights(), 9)
    pos = Position.empty(Rules(size=9)).play(40)  # black E5, white to move
    feats = names(pol, pos)
    for p, f in feats.items():
        r, c = divmod(p, 9)
        d = abs(r - 4) + abs(c - 4)
        assert ("resp" in f) == (d <= 2) and ("offset" in f) == (d <= 2), p
        assert ("dist3" in f) == (d == 3), p
        assert "dist2nd" not in f
    pos2 = pos.play(0)  # white A9, black to move: E5 is now the move before last
    feats2 = names(pol, pos2)
    for p, f in feats2.items():
        r, c = divmod(p, 9)
        assert ("dist2nd" in f) == (1 <= abs(r - 4) + abs(c - 4) <= 3), p
        assert ("resp" in f) == (r + c <= 2), p
    # the response pattern index depends on the stones around the last move
    other = Position.from_ascii("\n".join(["." * 9] * 3 + ["...X....."] + ["." * 9] * 5)).play(40)
    a = [f for f in pol.active_features(pos)[31] if R.feature_name(f) == "resp"]
    b = [f for f in pol.active_features(other)[31] if R.feature_name(f) == "resp"]
    assert a and b and a != b


def test_probabilities_sum_to_one_and_vanish_on_illegal_moves():
    pos = board("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
    """).play(7)  # black C4 captures B4: ko at B4 for white
    assert pos.ko_point == 6
    pol = R.RolloutPolicy(random_weights(3), 5)
    probs = pol.move_probs(pos)
    legal = pos.legal_mask()
    assert probs.shape == (26,)
    assert probs.sum() == pytest.approx(1.0)
    assert np.all(probs[~legal] == 0) and probs[6] == 0
    assert np.all(probs[:-1][legal[:-1]] > 0) and probs[25] == 0  # no pass while moves remain
    # nothing but eyes left: pass with probability 1
    full = board("""
        . X X X X
        X X X X X
        X X . X X
        X X X X X
        X X X X .
    """)
    probs = pol.move_probs(full)
    assert probs[25] == 1.0 and probs.sum() == 1.0


def _midgame(size: int, moves: int, seed: int, rules: Rules) -> Position:
    pos = Position.empty(rules)
    rng = _core.seed_rng(seed)
    for _ in range(moves):
        pos = pos.play(pos.random_move(rng))
    return pos


def test_compiled_sampler_draws_from_move_probs():
    pol = R.RolloutPolicy(random_weights(1, scale=0.8), 9)
    rules = Rules(size=9, ko="simple")
    for seed in range(50):
        pos = _midgame(9, 45, seed, rules)
        if any(R.OFF_SELF_ATARI in f for f in pol.active_features(pos).values()):
            break
    else:
        pytest.fail("no position with a self-atari candidate found")
    probs = pol.move_probs(pos)
    draws = pol.sample_fast(pos, _core.seed_rng(7), 40000)
    freq = np.bincount(draws, minlength=82) / draws.size
    assert np.all(freq[probs == 0] == 0)
    assert 0.5 * np.abs(freq - probs).sum() < 0.03
    # the Python sampler too
    gen = np.random.default_rng(0)
    picks = np.bincount([pol.sample(pos, gen) for _ in range(300)], minlength=82)
    assert np.all(picks[probs == 0] == 0)


@pytest.mark.parametrize("size", [9, 13])
def test_playouts_are_legal_deterministic_and_keep_the_cache_exact(size):
    pol = R.RolloutPolicy(random_weights(2), size)
    rules = Rules(size=size, ko="simple")
    start = _midgame(size, 10, 3, rules)
    before = start.stones().copy()
    for seed in range(3):
        score, moves, (s, g, mismatches), record = pol.playout(start, _core.seed_rng(seed), verify=True)
        assert mismatches == 0  # incremental per-point scores equal a fresh computation after every move
        assert start.stones().tolist() == before.tolist()
        pos = start.copy()
        for p in record:  # every move legal under the playout rules (simple ko, no suicide)
            pos.play(int(p), inplace=True)
        assert pos.is_over or moves == 3 * size * size
        assert pos.stones().tolist() == s[_core.COLOR].tolist()
        assert score == pos.score() + rules.komi
        again = pol.playout(start, _core.seed_rng(seed))
        assert again[0] == score and again[3].tolist() == record.tolist()
    a = pol.playouts(start, 6, seed=11, num_threads=1)
    b = pol.playouts(start, 6, seed=11, num_threads=2)
    c = pol.playouts(start, 6, seed=12)
    assert a[0].tolist() == b[0].tolist() and a[1] == b[1]
    assert a[0].tolist() != c[0].tolist() or a[1] != c[1]
    assert start.stones().tolist() == before.tolist()


def test_bad_weights_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        R.RolloutPolicy(np.zeros(10, np.float32), 9)
    w = np.zeros(R.num_features(), np.float32)
    w[R.OFF_SELF_ATARI] = 0.5
    with pytest.raises(ValueError, match="self-atari"):
        R.RolloutPolicy(w, 9)
    with pytest.raises(ValueError, match="9x9"):
        R.RolloutPolicy(np.zeros(R.num_features(), np.float32), 19).move_probs(Position.empty(Rules(size=9)))
