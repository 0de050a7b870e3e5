"""The gymnasium environment rlengine/Go-v0."""

import gymnasium as gym
import numpy as np
import pytest

import games.go.env  # noqa: F401  (registers rlengine/Go-v0)
from games.go import BLACK, WHITE


def test_registered_and_spaces():
    env = gym.make("rlengine/Go-v0", size=5, komi=0.5)
    obs, info = env.reset(seed=0)
    assert env.observation_space.shape == (3, 5, 5) and obs.dtype == np.uint8
    assert env.action_space.n == 26
    assert info["to_play"] == BLACK and info["legal_mask"].shape == (26,) and info["legal_mask"].all()
    assert obs[2].all()  # black to move
    obs, reward, term, trunc, info = env.step(12)
    assert info["to_play"] == WHITE and not info["legal_mask"][12]
    assert obs[1, 2, 2] == 1 and obs[0].sum() == 0 and not obs[2].any()  # planes are from white's view now
    assert reward == 0 and not term and not trunc


def test_module_colon_id_form_and_illegal_move():
    env = gym.make("games.go.env:rlengine/Go-v0", size=5)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(ValueError, match="illegal move white A5"):
        env.step(0)


def test_reward_is_from_the_last_movers_view_and_games_end():
    env = gym.make("rlengine/Go-v0", size=5, komi=0.5)
    _, info = env.reset(seed=1)
    # black fills the centre column, white passes, then both pass: black wins by area
    for a in (2, 25, 7, 25, 12, 25, 17, 25, 22):
        _, reward, term, trunc, info = env.step(a)
    _, reward, term, _, _ = env.step(25)  # white passes, black's turn
    assert not term
    _, reward, term, _, _ = env.step(25)  # black passes: two passes in a row end the game
    assert term and reward == 1.0  # black moved last and black wins B+24.5
    for seed in range(3):  # random self-play always terminates
        env.reset(seed=seed)
        done, steps = False, 0
        while not done:
            _, r, term, trunc, info = env.step(env.unwrapped.sample_legal_action())
            done, steps = term or trunc, steps + 1
        assert r in (-1.0, 0.0, 1.0) and steps <= 3 * 25


def test_seeded_resets_reproduce():
    def run(seed):
        env = gym.make("rlengine/Go-v0", size=7)
        env.reset(seed=seed)
        moves = []
        for _ in range(20):
            action = env.unwrapped.sample_legal_action()
            env.step(action)
            moves.append(action)
        return moves
    assert run(3) == run(3) and run(3) != run(4)
