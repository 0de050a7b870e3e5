"""Neural building blocks: torsos (among them a board Transformer), heads, a Transformer encoder, GAN parts.

Each module takes one small frozen config dataclass (validated on construction; errors
name the field) and converts its own inputs in ``forward``: uint8 Atari frames are
scaled inside ``NatureCNN``, integer or float64 observations become the parameters'
dtype. The same module runs on CPU and GPU, eagerly, under ``torch.compile`` and under
``torch.autocast`` (bf16).

>>> import torch
>>> from rlengine.nn import NatureCNN, NatureCNNConfig, QHead, QHeadConfig
>>> torso = NatureCNN(NatureCNNConfig(in_channels=4))
>>> head = QHead(QHeadConfig(torso.out_features, num_actions=6, dueling=True))
>>> frames = torch.zeros(2, 4, 84, 84, dtype=torch.uint8)  # [B, C, H, W] straight from replay
>>> head(torso(frames)).shape
torch.Size([2, 6])
"""

from rlengine.nn._common import num_parameters
from rlengine.nn._gan import (
    DCGANDiscriminator,
    DCGANDiscriminatorConfig,
    DCGANGenerator,
    DCGANGeneratorConfig,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    MLPGenerator,
    MLPGeneratorConfig,
)
from rlengine.nn._heads import (
    NoisyLinear,
    PolicyHead,
    PolicyHeadConfig,
    QHead,
    QHeadConfig,
    ValueHead,
    ValueHeadConfig,
)
from rlengine.nn._torsos import (
    MLP,
    MLPConfig,
    NatureCNN,
    NatureCNNConfig,
    ResNetConfig,
    ResNetTower,
)
from rlengine.nn._transformer import (
    BoardTransformer,
    BoardTransformerConfig,
    TransformerBlock,
    TransformerConfig,
    TransformerEncoder,
    sinusoidal_positions,
)

__all__ = [
    "BoardTransformer",
    "BoardTransformerConfig",
    "DCGANDiscriminator",
    "DCGANDiscriminatorConfig",
    "DCGANGenerator",
    "DCGANGeneratorConfig",
    "MLPDiscriminator",
    "MLPDiscriminatorConfig",
    "MLPGenerator",
    "MLPGeneratorConfig",
    "MLP",
    "MLPConfig",
    "NatureCNN",
    "NatureCNNConfig",
    "PolicyHead",
    "PolicyHeadConfig",
    "NoisyLinear",
    "QHead",
    "QHeadConfig",
    "ResNetConfig",
    "ResNetTower",
    "TransformerBlock",
    "TransformerConfig",
    "TransformerEncoder",
    "ValueHead",
    "ValueHeadConfig",
    "num_parameters",
    "sinusoidal_positions",
]
