"""The Gaussian-mixture reference data of the mode-collapse papers, and their two quality measures."""

from __future__ import annotations

import numpy as np

__all__ = ["mixture", "mode_metrics", "sample_mixture"]


def mixture(name: str) -> tuple[np.ndarray, float]:
    """(means [M, D], standard deviation) of a named mixture (equal weights)."""
    if name == "ring8":  # Metz et al. 2017 (unrolled GAN), VEEGAN, PacGAN
        angles = 2 * np.pi * np.arange(8) / 8
        return np.stack([2.0 * np.cos(angles), 2.0 * np.sin(angles)], 1), 0.02
    if name == "grid25":  # VEEGAN, PacGAN
        axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2), 0.05
    if name == "mixture2":  # a 2-D two-mode mixture for quick tests
        return np.array([[-2.0, 0.0], [2.0, 0.0]]), 0.1
    raise ValueError(f"unknown mixture {name!r}; known: ring8, grid25, mixture2")


def sample_mixture(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """float32 [n, D]: ``n`` draws, each from a uniformly chosen mode."""
    means, std = mixture(name)
    which = rng.integers(0, len(means), n)
    return (means[which] + std * rng.standard_normal((n, means.shape[1]))).astype(np.float32)


def mode_metrics(samples: np.ndarray, means: np.ndarray, std: float, *, min_count: int = 1) -> dict:
    """The papers' measures: a sample is *high quality* when it lies within 3 standard deviations of its
    nearest mode; a mode is *covered* when at least ``min_count`` high-quality samples are nearest to it.
    Returns ``{"modes": covered, "num_modes": M, "high_quality": fraction, "samples": n}``."""
    samples = np.asarray(samples, np.float64)
    d = np.linalg.norm(samples[:, None, :] - means[None, :, :], axis=-1)  # [S, M]
    nearest = d.argmin(1)
    good = d[np.arange(len(samples)), nearest] <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(means))
    return {"modes": int((counts >= min_count).sum()), "num_modes": len(means),
            "high_quality": float(good.mean()) if len(samples) else 0.0, "samples": len(samples)}
