"""AlphaGo (Silver et al. 2016): the supervised-learning policy network, from SGF games to a player.

``rlengine train configs/go19_sl.toml`` trains the SL policy; ``rlengine eval RUN --sgf GAMES`` measures
its move-prediction accuracy; ``rlengine gtp --player policy:RUN`` plays it.
"""

from agents.alphago.config import SLRunConfig
from agents.alphago.nets import PolicyCNN, build_policy_net
from agents.alphago.checkpoint import load_policy
from agents.alphago.sl import evaluate, train
from agents.alphago.watch import watch
from rlengine.registry import AgentSpec

AGENT = AgentSpec(name="alphago", config_class=SLRunConfig, train=train, evaluate=evaluate, watch=watch)

__all__ = ["AGENT", "PolicyCNN", "SLRunConfig", "build_policy_net", "evaluate", "load_policy", "train", "watch"]
