"""Environment adapters: Go (rules, SGF, GTP) and Atari (ALE).

This package never imports torch or ``agents``; see ``tests/test_layering.py``.
"""

__all__: list[str] = []
