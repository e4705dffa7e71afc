"""A minimal PNG encoder, so a memory map ships as one small image instead of one mark per page."""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png", "decode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an ``(height, width, 3)`` uint8 array as an 8-bit RGB PNG (filter 0 on every row)."""
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, channels = pixels.shape
    if channels != 3:
        raise ValueError(f"expected an (height, width, 3) RGB array, got shape {pixels.shape}")
    rows = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # a leading 0: filter type None
    rows[:, 1:] = pixels.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _chunk(b"IEND", b""))


def decode_png(data: bytes) -> np.ndarray:
    """Read back what :func:`encode_png` wrote (tests use it; not a general PNG reader)."""
    data = bytes(data)  # an ipywidgets Image holds its value as a memoryview
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    position, header, payload = len(_SIGNATURE), b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        tag = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        header = body if tag == b"IHDR" else header
        payload += body if tag == b"IDAT" else b""
        position += 12 + length
    width, height = struct.unpack(">II", header[:8])
    rows = np.frombuffer(zlib.decompress(payload), dtype=np.uint8).reshape(height, width * 3 + 1)
    return rows[:, 1:].reshape(height, width, 3).copy()
