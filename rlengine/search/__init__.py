"""Batched Monte-Carlo tree search, game-agnostic (PUCT, virtual loss, tree reuse).

``Forest`` keeps many trees in preallocated struct-of-arrays storage; ``search``
runs compiled select / expand / backup over all of them and sends the leaves of
every tree to one injected ``evaluate`` call per step.  See ``_kernels`` for the
tree layout and the value convention (values flip sign per ply).
"""

from rlengine.search._forest import FINAL_RULES, Evaluation, Forest, SearchConfig, SearchStats, search
from rlengine.search._kernels import NO_ACTION, NO_NODE, NOT_EXPANDED

__all__ = ["FINAL_RULES", "Evaluation", "Forest", "NO_ACTION", "NO_NODE", "NOT_EXPANDED", "SearchConfig", "SearchStats", "search"]
