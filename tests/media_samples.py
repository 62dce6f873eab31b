"""Real, tiny media files made in the test run (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import struct
import wave


def png(width: int = 4, height: int = 3) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 78, 121)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (242, 165, 65)).save(out, "JPEG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def large_png(width: int, height: int) -> bytes:
    """A complete, valid PNG of `width`×`height` black pixels: every row compresses to almost nothing, so a
    canvas of millions of pixels is a file of a few tens of kilobytes (the decompression bomb's trick)."""
    import zlib

    compressor = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then RGB
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def mp3(seconds: float = 2.0) -> bytes:
    """MPEG-1 Layer III frames of silence (128 kbit/s, 44.1 kHz) behind an empty ID3v2 tag."""
    frame = bytes([0xFF, 0xFB, 0x90, 0x00]) + bytes(417 - 4)
    frames = round(seconds * 44100 / 1152)
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * frames


def wav(seconds: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(8000 * 2 * seconds))
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: int = 3) -> bytes:
    """An ISO base media file: ftyp, a movie header with the duration, and an (empty) media box."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mvhd = _box(
        b"mvhd",
        bytes(4)
        + bytes(8)
        + struct.pack(">II", 1000, seconds * 1000)
        + struct.pack(">I", 0x00010000)
        + struct.pack(">H", 0x0100)
        + bytes(10)
        + bytes(36)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", bytes(16))


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
