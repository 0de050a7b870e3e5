"""Algorithms assembled from ``rlengine`` parts: DQN, the AlphaGo pipeline."""

__all__: list[str] = []
