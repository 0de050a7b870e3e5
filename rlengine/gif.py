"""An animated GIF written frame by frame: memory stays at one frame, however long the episode.

Pillow's GIF writer keeps every frame until it writes the file (an Atari game of 27,000 steps is
about 2.7 GB of RGB frames).  ``GifWriter`` instead encodes each frame on its own with Pillow (a
single-frame GIF with its own palette) and appends that frame's image block to the file at once:

    GIF89a header, logical screen (no global palette), NETSCAPE2.0 loop extension
    per frame: graphic control extension (delay) + image descriptor with a local palette + LZW data
    trailer

The file is written to a temporary name and renamed on ``close()`` (atomic); ``abort()`` removes it.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["GifWriter"]


def _blocks(data: bytes, pos: int) -> int:
    """The position after a sequence of data sub-blocks starting at ``pos`` (ends with a 0-length block)."""
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


class GifWriter:
    """``add(frame)`` appends an ``[H, W, 3]`` uint8 RGB (or ``[H, W]`` grey) frame; ``close()`` finishes."""

    def __init__(self, path: str | os.PathLike, *, fps: float = 30.0, loop: int = 0):
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.delay = max(1, round(100 / fps))  # GIF delays are in hundredths of a second
        self.loop = int(loop)
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._file = open(self.tmp, "wb")

    def add(self, frame: np.ndarray) -> None:
        from PIL import Image

        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
            raise ValueError(f"a frame must be uint8 [H, W] or [H, W, 3], got {frame.dtype} {frame.shape}")
        h, w = frame.shape[:2]
        if self.size is None:
            self.size = (w, h)
            self._file.write(b"GIF89a" + struct.pack("<HHBBB", w, h, 0x70, 0, 0))  # no global palette
            self._file.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", self.loop) + b"\x00")
        elif (w, h) != self.size:
            raise ValueError(f"frame {self.frames} is {w}x{h}, the GIF is {self.size[0]}x{self.size[1]}")
        image = Image.fromarray(frame).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        buf = io.BytesIO()
        image.save(buf, format="GIF")
        self._file.write(self._image_block(buf.getvalue()))
        self.frames += 1

    def _image_block(self, data: bytes) -> bytes:
        """This frame's graphic control extension and image, its palette made local."""
        if data[:6] not in (b"GIF87a", b"GIF89a"):
            raise ValueError("Pillow wrote something that is not a GIF")
        flags = data[10]
        pos = 13
        palette = b""
        if flags & 0x80:  # the single frame's global palette becomes the local one
            palette = data[pos:pos + 3 * (2 << (flags & 7))]
            pos += len(palette)
        while data[pos] == 0x21:  # skip Pillow's own extensions
            pos = _blocks(data, pos + 2)
        if data[pos] != 0x2C:
            raise ValueError("no image descriptor in Pillow's GIF")
        left, top, w, h, img_flags = struct.unpack("<HHHHB", data[pos + 1:pos + 10])
        pos += 10
        if img_flags & 0x80:  # Pillow already wrote a local palette: keep it
            size = 3 * (2 << (img_flags & 7))
            palette = data[pos:pos + size]
            pos += size
            local_flags = img_flags
        else:
            local_flags = (img_flags & 0x40) | 0x80 | (flags & 7)
        end = _blocks(data, pos + 1)  # LZW minimum code size, then the data sub-blocks
        gce = b"\x21\xf9\x04" + struct.pack("<BHB", 0x04, self.delay, 0) + b"\x00"  # do not dispose
        descriptor = b"\x2c" + struct.pack("<HHHHB", left, top, w, h, local_flags)
        return gce + descriptor + palette + data[pos:end]

    def close(self) -> Path:
        """Finish the file and move it into place; an empty GIF is an error."""
        if self._file.closed:
            return self.path
        if self.frames == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames to write")
        self._file.write(b"\x3b")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> GifWriter:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
