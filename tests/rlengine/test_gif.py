"""The streaming GIF writer: frames read back, palette per frame, atomic file, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from rlengine.gif import GifWriter


def test_frames_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 255, (6, 3), dtype=np.uint8)  # few colours: exact after quantisation
    frames = [palette[rng.integers(0, 6, (21, 16))] for _ in range(7)] + [np.full((21, 16), 200, np.uint8)]
    path = tmp_path / "a.gif"
    with GifWriter(path, fps=20) as gif:
        for f in frames:
            gif.add(f)
    assert gif.frames == 8 and not list(tmp_path.glob(".*.tmp"))
    with Image.open(path) as im:
        assert im.n_frames == 8 and im.size == (16, 21) and im.info["loop"] == 0
        for k, f in enumerate(frames):
            im.seek(k)
            rgb = np.asarray(im.convert("RGB"))
            want = f if f.ndim == 3 else np.repeat(f[..., None], 3, axis=2)
            assert np.array_equal(rgb, want), k
            assert im.info["duration"] == 50


def test_errors_leave_no_file(tmp_path):
    path = tmp_path / "b.gif"
    gif = GifWriter(path)
    with pytest.raises(ValueError, match="no frames"):
        gif.close()
    assert not path.exists() and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="must be uint8"):
        with GifWriter(path) as gif:
            gif.add(np.zeros((4, 4), np.float32))
    assert not path.exists() and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="frame 1 is 5x4, the GIF is 4x4"):
        with GifWriter(path) as gif:
            gif.add(np.zeros((4, 4, 3), np.uint8))
            gif.add(np.zeros((4, 5, 3), np.uint8))
    assert not path.exists()
