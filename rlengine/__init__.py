"""Shared primitives: neural building blocks, replay, batched MCTS, runtime, ratings, the CLI.

Never imports ``agents``; reaches games through their public interfaces.
"""

__all__: list[str] = []
