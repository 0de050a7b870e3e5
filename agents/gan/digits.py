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

__all__ = ["DigitsClassifier", "DigitsScorer", "frechet_distance", "load_classifier", "load_digits", "train_classifier"]


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


# ---- scoring generated digits ------------------------------------------------------------------------


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` [n, F] and ``b`` [m, F]:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017, here in the classifier's features)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S_a^(1/2)
    # tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)), whose matrix is symmetric PSD
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ s_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross)


class DigitsScorer:
    """Scores generated 8x8 digits with a trained ``DigitsClassifier``.

    - **Class coverage**: the classes the classifier predicts for at least ``min_count`` samples.
    - **Fréchet distance** in the classifier's penultimate features, against the real training images.
      Its *floor* is the distance of the real test images (unseen by the classifier and the GAN) to the
      same training images. Both distances are measured on sets of the test split's size, since the
      estimate grows as the sample shrinks: the generated samples are cut into sets of that size and their
      distances averaged. ``fd_ratio`` = generated / floor (1 = as close as unseen real digits)."""

    def __init__(self, classifier: DigitsClassifier, data: dict[str, np.ndarray] | None = None):
        self.classifier = classifier.eval()
        data = data if data is not None else load_digits()
        self.train_features = self.features(data["x_train"])
        self.set_size = len(data["x_test"])
        self.floor = frechet_distance(self.features(data["x_test"]), self.train_features)

    @torch.no_grad()
    def features(self, images: np.ndarray) -> np.ndarray:
        return self.classifier.features(torch.as_tensor(images, dtype=torch.float32)).numpy()

    @torch.no_grad()
    def __call__(self, images: np.ndarray, *, min_count: int = 1) -> dict:
        features = self.classifier.features(torch.as_tensor(images, dtype=torch.float32))  # [N, F]
        counts = np.bincount(self.classifier.out(features).argmax(1).numpy(), minlength=10)  # the logits' head
        feats = features.numpy()
        sets = max(1, len(feats) // self.set_size)
        fds = [frechet_distance(feats[i * self.set_size:(i + 1) * self.set_size], self.train_features)
               for i in range(sets)]
        fd = float(np.mean(fds))
        return {"classes": int((counts >= min_count).sum()), "num_classes": 10, "class_counts": counts.tolist(),
                "fd": fd, "fd_floor": self.floor, "fd_ratio": fd / self.floor, "samples": len(feats)}
