"""GAN parts: shapes, output ranges, spectral normalisation, config errors."""

from __future__ import annotations

import pytest
import torch

from rlengine.nn import (
    DCGANDiscriminator,
    DCGANDiscriminatorConfig,
    DCGANGenerator,
    DCGANGeneratorConfig,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    MLPGenerator,
    MLPGeneratorConfig,
)


@pytest.mark.parametrize("size,start,stages", [(8, 4, 1), (16, 4, 2), (32, 4, 3), (8, 2, 2)])
def test_dcgan_shapes_and_range(size, start, stages):
    g = DCGANGenerator(DCGANGeneratorConfig(z_dim=16, channels=1, size=size, base=8, start=start))
    d = DCGANDiscriminator(DCGANDiscriminatorConfig(channels=1, size=size, base=8, start=start))
    x = g(torch.randn(4, 16))
    assert x.shape == (4, 1, size, size) and x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (4,)
    for net, kind in ((g, torch.nn.ConvTranspose2d), (d, torch.nn.Conv2d)):
        convs = [m for m in net.modules() if isinstance(m, kind)]
        assert len(convs) == stages and all(c.stride == (2, 2) for c in convs)


def test_spectral_norm_bounds_the_discriminator_layers():
    d = MLPDiscriminator(MLPDiscriminatorConfig(in_features=2, hidden=(64, 64), spectral_norm=True))
    for _ in range(20):  # the power iteration converges in training mode
        d(torch.randn(8, 2))
    for m in d.modules():
        if isinstance(m, torch.nn.Linear):
            assert torch.linalg.matrix_norm(m.weight, ord=2) <= 1.05
    sn = DCGANDiscriminator(DCGANDiscriminatorConfig(size=16, base=8, spectral_norm=True))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in sn.modules())
    g = MLPGenerator(MLPGeneratorConfig(z_dim=3, out_features=2))
    assert g(torch.randn(5, 3)).shape == (5, 2)


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match=r"DCGANGeneratorConfig.size must be 4 times a power of two >= 2 \(8, 16"):
        DCGANGeneratorConfig(size=28)
    with pytest.raises(TypeError, match="MLPDiscriminatorConfig.spectral_norm must be true or false"):
        MLPDiscriminatorConfig(spectral_norm="yes")
