"""GANs (Goodfellow et al. 2014) on the mode-collapse reference mixtures (ring of 8, grid of 25)."""

from agents.gan.config import GANRunConfig
from agents.gan.gan import evaluate, train, watch
from rlengine.registry import AgentSpec

AGENT = AgentSpec(name="gan", config_class=GANRunConfig, train=train, evaluate=evaluate, watch=watch)

__all__ = ["AGENT", "GANRunConfig", "evaluate", "train", "watch"]
