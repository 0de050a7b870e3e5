"""AlphaGo (Silver et al. 2016): the SL policy from SGF games, the RL policy from self-play, players.

``rlengine train configs/go19_sl.toml`` trains the SL policy; ``rlengine eval RUN --sgf GAMES`` measures
its move-prediction accuracy; ``rlengine train configs/go9_rl.toml`` trains the RL policy from it
(agent ``alphago_rl``, self-play on Ray actors); ``rlengine train configs/go9_value.toml`` makes the value
data and trains the value network (agent ``alphago_value``); ``rlengine gtp --player policy:RUN`` plays a
policy, ``mcts:POLICY,value=VALUE`` the full search.
"""

from agents.alphago import rl, value
from agents.alphago.config import RLRunConfig, SLRunConfig, ValueRunConfig
from agents.alphago.nets import PolicyCNN, build_policy_net
from agents.alphago.checkpoint import load_policy
from agents.alphago.sl import evaluate, train
from agents.alphago.watch import watch
from rlengine.registry import AgentSpec

AGENT = AgentSpec(name="alphago", config_class=SLRunConfig, train=train, evaluate=evaluate, watch=watch)
RL_AGENT = AgentSpec(name="alphago_rl", config_class=RLRunConfig, train=rl.train, evaluate=rl.evaluate, watch=watch)
VALUE_AGENT = AgentSpec(name="alphago_value", config_class=ValueRunConfig, train=value.train, evaluate=value.evaluate,
                        watch=watch, stages={"gen-value-data": value.generate_data})

__all__ = ["AGENT", "PolicyCNN", "RLRunConfig", "RL_AGENT", "SLRunConfig", "VALUE_AGENT", "ValueRunConfig",
           "build_policy_net", "evaluate", "load_policy", "train", "watch"]
