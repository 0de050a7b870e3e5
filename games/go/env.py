"""A gymnasium environment for Go, registered as ``rlengine/Go-v0``.

Registration happens when this module is imported, so either::

    import games.go.env
    env = gymnasium.make("rlengine/Go-v0", size=9, komi=7.5)

or, without the import, ``gymnasium.make("games.go.env:rlengine/Go-v0", size=9)``.

One environment is one game played by both colours in turn (self-play or
two agents taking turns).  Observation: uint8 [3, N, N] planes: the stones
of the player to move, the opponent's stones, and a plane of ones when black
is to move.  Action: a flat index, ``N*N`` for pass.  ``info`` carries
``legal_mask`` (bool [N*N + 1]) and ``to_play`` (1 black, 2 white).  The game
ends after two consecutive passes (terminated) or after ``max_moves`` moves
(truncated, scored as it stands).  The reward is given at the end only, from
the viewpoint of the player who made the last move: +1 win, -1 loss, 0 draw,
by Tromp-Taylor area score with komi.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from games.go import _core
from games.go.board import BLACK, IllegalMoveError, Position, Rules, opponent

__all__ = ["ENV_ID", "GoEnv", "register_envs"]

ENV_ID = "rlengine/Go-v0"


class GoEnv(gym.Env):
    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, size: int = 9, komi: float = 7.5, *, ko: str = "positional", allow_suicide: bool = False,
                 max_moves: int | None = None, render_mode: str | None = None):
        self.rules = Rules(size, komi, ko, allow_suicide)
        self.max_moves = max_moves if max_moves is not None else 3 * size * size
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}: expected one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        n = size * size
        self.observation_space = spaces.Box(0, 1, shape=(3, size, size), dtype=np.uint8)
        self.action_space = spaces.Discrete(n + 1)
        self.position = Position.empty(self.rules)
        self._rng = _core.seed_rng(0)

    def _observation(self) -> np.ndarray:
        size = self.rules.size
        stones = self.position.stones().reshape(size, size)
        me = self.position.to_move
        obs = np.empty((3, size, size), np.uint8)  # [3, N, N]
        obs[0] = stones == me
        obs[1] = stones == opponent(me)
        obs[2] = 1 if me == BLACK else 0
        return obs

    def _info(self) -> dict:
        return {"legal_mask": self.position.legal_mask(), "to_play": self.position.to_move,
                "move_number": self.position.move_number}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._rng = _core.seed_rng(int(self.np_random.integers(2**62)))
        self.position = Position.empty(self.rules)
        return self._observation(), self._info()

    def step(self, action):
        action = int(action)
        mover = self.position.to_move
        try:
            self.position = self.position.play(action, inplace=True)
        except IllegalMoveError as exc:
            raise ValueError(f"{exc} (check info['legal_mask'] before stepping)") from None
        terminated = self.position.is_over
        truncated = not terminated and self.position.move_number >= self.max_moves
        reward = 0.0
        if terminated or truncated:
            score = self.position.score()
            winner = BLACK if score > 0 else (opponent(BLACK) if score < 0 else 0)
            reward = 0.0 if winner == 0 else (1.0 if winner == mover else -1.0)
        return self._observation(), reward, terminated, truncated, self._info()

    def sample_legal_action(self) -> int:
        """A random legal move that does not fill the mover's own eye (else pass)."""
        return self.position.random_move(self._rng)

    def render(self):
        text = self.position.to_ascii()
        if self.render_mode == "human":
            print(text)
            return None
        return text


def register_envs() -> None:
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="games.go.env:GoEnv")


register_envs()
