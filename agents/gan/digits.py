"""The handwritten digits scikit-learn ships, and the small ResNet classifier that scores generated digits.

``load_digits`` reads the 1,797 8x8 images from the installed package (no download) and splits them once,
stratified by class with a fixed seed: 80% train, 20% test.  Images are scaled from 0..16 to [-1, 1]
(the range of DCGAN's tanh output).

``DigitsClassifier``: ``rlengine.nn.ResNetTower`` (32 maps, 2 residual blocks) on the 8x8 image, global
average pooling to the 32 *features* (the penultimate layer, where Fréchet distances are measured), and
a linear layer to 10 logits.  ``train_classifier`` trains it with Adam and small random shifts, and
writes its weights as safetensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlengine.nn import ResNetConfig, ResNetTower

__all__ = ["DigitsClassifier", "load_digits", "load_classifier", "train_classifier"]


def load_digits(seed: int = 0) -> dict[str, np.ndarray]:
    """{"x_train", "y_train", "x_test", "y_test"}: float32 images [N, 1, 8, 8] in [-1, 1], int64 labels."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:  # pragma: no cover - an extra of the package
        raise ImportError("the digits tasks need scikit-learn: pip install -e '.[dev]'") from None
    data = sk_digits()
    x = (data.images.astype(np.float32) / 8.0 - 1.0)[:, None]  # [N, 1, 8, 8] in [-1, 1]
    y = data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in range(10):  # 20% of each class
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: round(0.2 * len(idx))]] = True
    return {"x_train": x[~test], "y_train": y[~test], "x_test": x[test], "y_test": y[test]}


class DigitsClassifier(nn.Module):
    def __init__(self, channels: int = 32, blocks: int = 2):
        super().__init__()
        self.tower = ResNetTower(ResNetConfig(in_channels=1, channels=channels, blocks=blocks))
        self.out = nn.Linear(channels, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[B, channels]: the penultimate features."""
        return self.tower(x.float()).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # [B, 10]


def _shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random shifts of up to one pixel (padding with the background value -1)."""
    padded = F.pad(x, (1, 1, 1, 1), value=-1.0)
    dx, dy = torch.randint(0, 3, (2,), generator=gen).tolist()
    return padded[:, :, dy:dy + 8, dx:dx + 8]


def accuracy(model: DigitsClassifier, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    model.train()
    return float((pred == y).mean())


def train_classifier(out: str | Path | None = None, *, seed: int = 0, epochs: int = 40, batch_size: int = 64,
                     lr: float = 2e-3, shuffle_labels: bool = False) -> tuple[DigitsClassifier, dict]:
    """Train on the train split; returns the model and {"test_accuracy", "train_accuracy", ...}.
    ``shuffle_labels``: train on permuted labels (a broken classifier, for tests)."""
    torch.manual_seed(seed)
    data = load_digits()
    x, y = data["x_train"], data["y_train"]
    if shuffle_labels:
        y = np.random.default_rng(seed).permutation(y)
    model = DigitsClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(_shift(xt[idx], gen)), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    result = {"test_accuracy": accuracy(model, data["x_test"], data["y_test"]),
              "train_accuracy": accuracy(model, x, y), "train_images": len(x), "test_images": len(data["y_test"]),
              "epochs": epochs, "seed": seed}
    if out is not None:
        from safetensors.torch import save_file

        from rlengine.runtime import atomic_write_bytes

        tmp = Path(str(out) + ".tmp")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
        atomic_write_bytes(out, tmp.read_bytes())
        tmp.unlink()
    return model, result


def load_classifier(path: str | Path) -> DigitsClassifier:
    from safetensors.torch import load_file

    model = DigitsClassifier()
    model.load_state_dict(load_file(str(path)))
    return model.eval()
