"""DQN for Atari (and small gymnasium envs): Double DQN, dueling, PER, n-step."""

from agents.dqn.config import DQNRunConfig
from agents.dqn.dqn import QNetwork, evaluate_checkpoint, train, watch_checkpoint
from rlengine.registry import AgentSpec

AGENT = AgentSpec(name="dqn", config_class=DQNRunConfig, train=train, evaluate=evaluate_checkpoint,
                  watch=watch_checkpoint)

__all__ = ["AGENT", "DQNRunConfig", "QNetwork", "evaluate_checkpoint", "train", "watch_checkpoint"]
