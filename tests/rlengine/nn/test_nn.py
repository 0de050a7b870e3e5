"""rlengine.nn: shapes, input scaling, parameter counts, the dueling identity, masking,
config errors, autocast/compile, and small overfit checks that a broken module fails."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rlengine.nn import (
    MLP,
    MLPConfig,
    NatureCNN,
    NatureCNNConfig,
    PolicyHead,
    PolicyHeadConfig,
    QHead,
    QHeadConfig,
    ResNetConfig,
    ResNetTower,
    TransformerBlock,
    TransformerConfig,
    TransformerEncoder,
    ValueHead,
    ValueHeadConfig,
    num_parameters,
    sinusoidal_positions,
)



@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Toy sizes gain nothing from intra-op threads, and on a busy machine their spin-waits
    make 300 tiny Adam steps take a minute instead of half a second."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def frames(batch: int = 2, channels: int = 4) -> torch.Tensor:
    return torch.randint(0, 256, (batch, channels, 84, 84), dtype=torch.uint8)  # [B, C, H, W]


# --- shapes ------------------------------------------------------------------------------------


def test_nature_cnn_and_q_heads_shapes():
    torso = NatureCNN(NatureCNNConfig(in_channels=4))
    assert torso.out_features == 512
    features = torso(frames(3))
    assert features.shape == (3, 512) and features.dtype == torch.float32
    assert (features >= 0).all()  # ends in a ReLU
    for hidden in (None, 64):
        for dueling in (False, True):
            head = QHead(QHeadConfig(torso.out_features, num_actions=6, hidden=hidden, dueling=dueling))
            assert head(features).shape == (3, 6)


def test_mlp_shapes_and_input_dtypes():
    mlp = MLP(MLPConfig(in_features=4, hidden=(32, 16), activation="tanh"))
    assert mlp.out_features == 16
    obs = torch.randn(5, 4, dtype=torch.float64)  # numpy default dtype
    out = mlp(obs)
    assert out.shape == (5, 16) and out.dtype == torch.float32
    torch.testing.assert_close(out, mlp(obs.float()), rtol=0, atol=0)
    assert mlp(torch.ones(5, 4, dtype=torch.int64)).shape == (5, 16)
    identity = MLP(MLPConfig(in_features=4, hidden=()))
    assert identity.out_features == 4 and torch.equal(identity(obs.float()), obs.float())


def test_mlp_config_takes_toml_lists():
    config = MLPConfig(in_features=4, hidden=[8, 8])
    assert config.hidden == (8, 8)
    hash(config)  # still a frozen, hashable config


@pytest.mark.parametrize("size", [9, 19])
def test_go_heads_shapes(size):
    tower = ResNetTower(ResNetConfig(in_channels=17, channels=16, blocks=2))
    features = tower(torch.randn(3, 17, size, size))
    policy = PolicyHead(PolicyHeadConfig(tower.out_channels, size))
    board_only = PolicyHead(PolicyHeadConfig(tower.out_channels, size, include_pass=False))
    value = ValueHead(ValueHeadConfig(tower.out_channels, size, hidden=32))
    assert policy(features).shape == (3, size * size + 1) == (3, policy.num_moves)
    assert board_only(features).shape == (3, size * size)
    v = value(features)
    assert v.shape == (3,) and (v.abs() <= 1).all()


def test_value_head_squashes_into_minus_one_one():
    value = ValueHead(ValueHeadConfig(in_channels=4, board_size=3, hidden=8))
    features = torch.randn(6, 4, 3, 3)
    with torch.no_grad():
        value.fc[-1].bias.fill_(50.0)  # a huge pre-activation
        high = value(features)
        value.fc[-1].bias.fill_(-50.0)
        low = value(features)
    torch.testing.assert_close(high, torch.ones(6))
    torch.testing.assert_close(low, -torch.ones(6))


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"NatureCNN expects \[B, C, H, W\] = \[\*, 4, 84, 84\], got \(2, 4, 64, 64\)"):
        NatureCNN(NatureCNNConfig())(torch.zeros(2, 4, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match="PolicyHead expects"):
        PolicyHead(PolicyHeadConfig(8, 9))(torch.zeros(2, 8, 19, 19))
    with pytest.raises(ValueError, match="max_len"):
        TransformerEncoder(TransformerConfig(dim=16, heads=2, max_len=8))(torch.zeros(1, 9, 16))


# --- input scaling -----------------------------------------------------------------------------


def test_nature_cnn_scales_uint8_inside_forward():
    torso = NatureCNN(NatureCNNConfig()).eval()
    x = frames(4)
    from_uint8 = torso(x)
    assert torch.equal(from_uint8, torso(x.float() * (1 / 255)))  # the same arithmetic: bit-identical
    torch.testing.assert_close(from_uint8, torso(x.float() / 255), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(from_uint8, torso(x.float()))  # unscaled floats are a different input


def test_nature_cnn_honours_configured_scale():
    raw = NatureCNN(NatureCNNConfig(in_channels=2, scale=1.0))
    x = frames(2, channels=2)
    assert torch.equal(raw(x), raw(x.float()))


def test_resnet_takes_integer_planes_unscaled():
    tower = ResNetTower(ResNetConfig(in_channels=3, channels=8, blocks=1)).eval()
    planes = torch.randint(0, 2, (2, 3, 5, 5), dtype=torch.uint8)
    assert torch.equal(tower(planes), tower(planes.float()))
    assert torch.equal(tower(planes.bool()), tower(planes.float()))


# --- parameter count ---------------------------------------------------------------------------


def test_nature_dqn_parameter_count():
    def conv(c_in, c_out, k):
        return c_out * c_in * k * k + c_out

    def linear(f_in, f_out):
        return f_in * f_out + f_out

    side = ((84 - 8) // 4 + 1 - 4) // 2 + 1 - 3 + 1  # 84 -> 20 -> 9 -> 7
    assert side == 7
    torso = conv(4, 32, 8) + conv(32, 64, 4) + conv(64, 64, 3) + linear(64 * side * side, 512)
    head = linear(512, 6)
    assert (torso, head) == (1_684_128, 3_078)

    cnn = NatureCNN(NatureCNNConfig(in_channels=4))
    q = QHead(QHeadConfig(cnn.out_features, num_actions=6))
    assert num_parameters(cnn) == torso
    assert num_parameters(nn.Sequential(cnn, q)) == torso + head == 1_687_206
    q.q[0].weight.requires_grad_(False)
    assert num_parameters(q, trainable_only=True) == 6


# --- dueling -----------------------------------------------------------------------------------


def test_dueling_head_centres_advantages():
    head = QHead(QHeadConfig(in_features=10, num_actions=5, hidden=16, dueling=True))
    features = torch.randn(7, 10)
    q = head(features)
    value, advantage = head.value_and_advantage(features)
    assert value.shape == (7,) and advantage.shape == (7, 5)
    torch.testing.assert_close(q - q.mean(-1, keepdim=True), advantage - advantage.mean(-1, keepdim=True))
    torch.testing.assert_close(q.mean(-1), value)
    assert not torch.allclose(q, value.unsqueeze(-1) + advantage)  # centring really happened

    with torch.no_grad():
        head.advantage[-1].bias += 3.0  # the same constant added to every advantage
    _, shifted = head.value_and_advantage(features)
    torch.testing.assert_close(shifted, advantage + 3.0)
    torch.testing.assert_close(head(features), q)


def test_plain_head_has_no_dueling_streams():
    head = QHead(QHeadConfig(in_features=4, num_actions=2))
    with pytest.raises(RuntimeError, match="dueling"):
        head.value_and_advantage(torch.zeros(1, 4))


# --- ResNet ------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_norm", [True, False])
def test_resnet_keeps_size_and_gradients_reach_every_parameter(batch_norm):
    config = ResNetConfig(in_channels=5, channels=8, blocks=3, kernel_size=5, batch_norm=batch_norm)
    tower = ResNetTower(config)
    assert any(isinstance(m, nn.BatchNorm2d) for m in tower.modules()) == batch_norm
    x = torch.randn(4, 5, 9, 7, requires_grad=True)
    y = tower(x)
    assert y.shape == (4, tower.out_channels, 9, 7)
    y.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in tower.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    num_convs = sum(isinstance(m, nn.Conv2d) for m in tower.modules())
    assert num_convs == 1 + 2 * config.blocks


def test_residual_block_adds_its_input():
    tower = ResNetTower(ResNetConfig(in_channels=4, channels=4, blocks=1, batch_norm=False))
    block = tower.blocks[0]
    with torch.no_grad():
        block.second[0].weight.zero_()
        block.second[0].bias.zero_()
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(block(x), torch.relu(x))  # relu(x + 0)


# --- Transformer -------------------------------------------------------------------------------


def reference_block(block: TransformerBlock, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """The block written out by hand: explicit softmax attention, no SDPA."""
    b, t, d = x.shape
    h = block.config.heads
    q, k, v = block.attn.qkv(block.ln_attn(x)).split(d, dim=-1)
    q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))  # [B, H, T, Dh]
    scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)  # [B, H, T, T]
    if keep is not None:
        scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
    x = x + block.attn.proj(y)
    return x + block.mlp.down(F.gelu(block.mlp.up(block.ln_mlp(x))))


def test_transformer_block_matches_hand_written_attention():
    block = TransformerBlock(TransformerConfig(dim=32, heads=4)).eval()
    x = torch.randn(3, 10, 32)
    pad = torch.zeros(3, 10, dtype=torch.bool)
    pad[1, 6:] = True
    pad[2, 2:] = True
    torch.testing.assert_close(block(x), reference_block(block, x, None), rtol=1e-4, atol=1e-5)
    out, ref = block(x, pad), reference_block(block, x, ~pad)
    torch.testing.assert_close(out[~pad], ref[~pad], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_padding_mask_hides_padded_tokens(positions):
    config = TransformerConfig(dim=32, heads=4, layers=2, max_len=16, positions=positions)
    encoder = TransformerEncoder(config).eval()
    x = torch.randn(2, 12, 32)
    pad = torch.zeros(2, 12, dtype=torch.bool)
    pad[0, 8:] = True
    pad[1, 5:] = True
    changed = x.clone()
    changed[pad] = 100 * torch.randn(int(pad.sum()), 32)
    for module in (encoder, encoder.blocks[0]):
        out, out_changed = module(x, pad), module(changed, pad)
        torch.testing.assert_close(out[~pad], out_changed[~pad], rtol=1e-5, atol=1e-5)
        # without the mask the padded tokens do leak in, so the check above can fail
        assert not torch.allclose(module(x)[~pad], module(changed)[~pad], atol=1e-3)


def test_all_padding_stays_finite():
    encoder = TransformerEncoder(TransformerConfig(dim=16, heads=2, layers=1, max_len=8))
    out = encoder(torch.randn(2, 4, 16), torch.ones(2, 4, dtype=torch.bool))
    assert torch.isfinite(out).all()


def test_learned_and_sinusoidal_positions():
    learned = TransformerEncoder(TransformerConfig(dim=16, heads=2, layers=1, max_len=32, positions="learned"))
    fixed = TransformerEncoder(TransformerConfig(dim=16, heads=2, layers=1, max_len=32, positions="sinusoidal"))
    assert dict(learned.named_parameters())["positions"].shape == (32, 16)
    assert "positions" not in dict(fixed.named_parameters())
    assert "positions" in dict(fixed.named_buffers()) and "positions" not in fixed.state_dict()
    assert num_parameters(learned) == num_parameters(fixed) + 32 * 16

    table = sinusoidal_positions(32, 16)
    p = torch.arange(32.0)
    torch.testing.assert_close(table[:, 0], torch.sin(p))
    torch.testing.assert_close(table[:, 1], torch.cos(p))
    torch.testing.assert_close(table[:, 14], torch.sin(p / 10000 ** (14 / 16)))
    assert sinusoidal_positions(5, 7).shape == (5, 7)  # odd widths work too

    x = torch.randn(2, 20, 16)
    perm = torch.randperm(20)
    for encoder in (learned.eval(), fixed.eval()):
        out = encoder(x)
        assert out.shape == (2, 20, 16) and torch.isfinite(out).all()
        # positions break permutation equivariance: shuffling tokens is not shuffling outputs
        assert not torch.allclose(encoder(x[:, perm]), out[:, perm], atol=1e-4)
        # the final LayerNorm: each token has zero mean and unit variance (default affine)
        torch.testing.assert_close(out.mean(-1), torch.zeros(2, 20), atol=1e-5, rtol=0)

    learned.train()
    learned(x).sum().backward()
    assert learned.positions.grad is not None and learned.positions.grad[:20].abs().sum() > 0
    assert learned.positions.grad[20:].abs().sum() == 0  # rows past T are unused


# --- configs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: TransformerConfig(dim=128, heads=3), "TransformerConfig.heads"),
        (lambda: TransformerConfig(positions="rotary"), "TransformerConfig.positions"),
        (lambda: TransformerConfig(dropout=1.0), "TransformerConfig.dropout"),
        (lambda: TransformerConfig(mlp_ratio=0), "TransformerConfig.mlp_ratio"),
        (lambda: TransformerConfig(max_len=0), "TransformerConfig.max_len"),
        (lambda: NatureCNNConfig(in_channels=0), "NatureCNNConfig.in_channels"),
        (lambda: NatureCNNConfig(scale=-1.0), "NatureCNNConfig.scale"),
        (lambda: NatureCNNConfig(scale=float("nan")), "NatureCNNConfig.scale"),
        (lambda: MLPConfig(in_features=4, hidden=(64, 0)), "MLPConfig.hidden"),
        (lambda: MLPConfig(in_features=4, hidden="64"), "MLPConfig.hidden"),
        (lambda: MLPConfig(in_features=4, activation="sigmoid"), "MLPConfig.activation"),
        (lambda: MLPConfig(in_features=True), "MLPConfig.in_features"),
        (lambda: ResNetConfig(in_channels=17, kernel_size=4), "ResNetConfig.kernel_size"),
        (lambda: ResNetConfig(in_channels=17, blocks=-1), "ResNetConfig.blocks"),
        (lambda: ResNetConfig(in_channels=17, batch_norm=1), "ResNetConfig.batch_norm"),
        (lambda: QHeadConfig(in_features=512, num_actions=0), "QHeadConfig.num_actions"),
        (lambda: QHeadConfig(in_features=512, num_actions=6, hidden=0), "QHeadConfig.hidden"),
        (lambda: QHeadConfig(in_features=512, num_actions=6, dueling="yes"), "QHeadConfig.dueling"),
        (lambda: PolicyHeadConfig(in_channels=64, board_size=0), "PolicyHeadConfig.board_size"),
        (lambda: ValueHeadConfig(in_channels=64, board_size=9, hidden=2.5), "ValueHeadConfig.hidden"),
    ],
)
def test_config_errors_name_the_field(make, field):
    with pytest.raises((ValueError, TypeError), match=field.replace(".", r"\.")):
        make()


def test_configs_are_frozen_and_reject_unknown_keys():
    config = TransformerConfig()
    with pytest.raises(AttributeError):
        config.dim = 64
    with pytest.raises(TypeError, match="heeds"):
        TransformerConfig(heeds=4)
    assert TransformerConfig(mlp_ratio=2).mlp_ratio == 2.0 and TransformerConfig(mlp_ratio=2).mlp_hidden == 256


# --- precision and compilation -----------------------------------------------------------------


def small_models():
    """(name, model, input) for each module, at toy sizes."""
    cnn = nn.Sequential(NatureCNN(NatureCNNConfig()), QHead(QHeadConfig(512, 6, dueling=True)))
    tower = ResNetTower(ResNetConfig(in_channels=3, channels=8, blocks=1))
    go = nn.ModuleDict(
        {"tower": tower, "policy": PolicyHead(PolicyHeadConfig(8, 5)), "value": ValueHead(ValueHeadConfig(8, 5, hidden=8))}
    )
    return [
        ("nature", cnn, frames(2)),
        ("mlp", nn.Sequential(MLP(MLPConfig(4, hidden=(16,))), QHead(QHeadConfig(16, 2))), torch.randn(2, 4)),
        ("resnet", nn.Sequential(tower, go["policy"]), torch.randn(2, 3, 5, 5)),
        ("value", nn.Sequential(tower, go["value"]), torch.randn(2, 3, 5, 5)),
        ("transformer", TransformerEncoder(TransformerConfig(dim=16, heads=2, max_len=25)), torch.randn(2, 25, 16)),
    ]


@pytest.mark.parametrize("index", range(5))
def test_bf16_autocast_on_cpu(index):
    name, model, x = small_models()[index]
    model.eval()
    with torch.no_grad():
        full = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.shape == full.shape and torch.isfinite(low).all(), name
    torch.testing.assert_close(low.float(), full, rtol=0.1, atol=0.1)


def test_torch_compile_traces_without_graph_breaks():
    encoder = TransformerEncoder(TransformerConfig(dim=16, heads=2, layers=1, max_len=16)).eval()
    compiled = torch.compile(encoder, backend="eager", fullgraph=True)
    x, pad = torch.randn(2, 9, 16), torch.zeros(2, 9, dtype=torch.bool)
    pad[0, 5:] = True
    torch.testing.assert_close(compiled(x, pad), encoder(x, pad))

    cnn = NatureCNN(NatureCNNConfig(in_channels=1))
    compiled_cnn = torch.compile(cnn, backend="eager", fullgraph=True)
    x = frames(1, channels=1)
    torch.testing.assert_close(compiled_cnn(x), cnn(x))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("index", range(5))
def test_cuda_bf16_autocast_matches_cpu(index):
    name, model, x = small_models()[index]
    model.eval()
    with torch.no_grad():
        expected = model(x)
        model.cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x.cuda())  # uint8 frames go to the GPU as they are and are scaled there
    assert out.device.type == "cuda" and torch.isfinite(out).all(), name
    torch.testing.assert_close(out.float().cpu(), expected, rtol=0.1, atol=0.1)


# --- learning ----------------------------------------------------------------------------------


def fit(model: nn.Module, loss_fn, steps: int, lr: float = 3e-3) -> tuple[float, float]:
    """Adam on one fixed batch; the first and last loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    first = last = math.nan
    for step in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if step == 0 else first
        last = loss.item()
    return first, last


@pytest.mark.parametrize("dueling", [False, True])
def test_mlp_q_head_overfits_a_batch(dueling):
    mlp = MLP(MLPConfig(in_features=4, hidden=(64, 64)))
    head = QHead(QHeadConfig(mlp.out_features, num_actions=3, hidden=32, dueling=dueling))
    model = nn.Sequential(mlp, head)
    obs, targets = torch.randn(32, 4), torch.randn(32, 3)
    first, last = fit(model, lambda: F.mse_loss(model(obs), targets), steps=300)
    assert first > 0.5 and last < 0.01, (first, last)


def test_resnet_policy_and_value_overfit_a_batch():
    size = 5
    tower = ResNetTower(ResNetConfig(in_channels=3, channels=16, blocks=2))
    policy = PolicyHead(PolicyHeadConfig(16, size))
    value = ValueHead(ValueHeadConfig(16, size, hidden=32))
    model = nn.ModuleList([tower, policy, value])
    planes = torch.randint(0, 2, (16, 3, size, size), dtype=torch.uint8)
    moves = torch.randint(0, size * size + 1, (16,))
    outcomes = torch.randint(0, 2, (16,)).float() * 2 - 1

    def loss():
        features = tower(planes)
        return F.cross_entropy(policy(features), moves) + F.mse_loss(value(features), outcomes)

    first, last = fit(model, loss, steps=150)
    assert first > 3.0 and last < 0.1, (first, last)


def test_transformer_overfits_a_batch():
    encoder = TransformerEncoder(TransformerConfig(dim=32, heads=4, layers=2, max_len=8))
    readout = nn.Linear(32, 5)
    model = nn.ModuleList([encoder, readout])
    tokens = torch.randn(8, 8, 32)
    labels = torch.randint(0, 5, (8, 8))  # one class per token: needs each token's own output

    first, last = fit(model, lambda: F.cross_entropy(readout(encoder(tokens)).flatten(0, 1), labels.flatten()), 150)
    assert first > 1.0 and last < 0.05, (first, last)
