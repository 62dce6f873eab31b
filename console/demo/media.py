"""Pictures and documents for the demo, drawn here so the demo needs no network and no fixtures.

Covers for simulations, portraits for stakeholders (initials on a colour) and a one-page briefing
pack as a PDF. Deterministic: the same names give the same bytes. They go through the media library
like any upload (checked by content), into the console's own storage, so a newcomer's first look at
the studio shows real previews served by the console itself.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

# Calm colours with white text at well over 4.5:1 contrast.
PALETTE = ["#1f4e79", "#5b3a8c", "#7a2e3a", "#2f5d3a", "#6b4a12", "#234e5e", "#4a4a6a", "#7a3e13"]


def _colour(name: str) -> str:
    return PALETTE[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(PALETTE)]


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def portrait(name: str, *, size: int = 160) -> bytes:
    """A round portrait with the person's initials."""
    image = Image.new("RGB", (size, size), "#eef1f5")
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size - 4, size - 4), fill=_colour(name))
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    draw.text((size / 2, size / 2), initials, fill="white", font=_font(size // 3), anchor="mm")
    return _png(image)


def cover(title: str, subtitle: str, *, width: int = 640, height: int = 360) -> bytes:
    """A simulation's cover: its title on a band of its colour."""
    image = Image.new("RGB", (width, height), _colour(title))
    draw = ImageDraw.Draw(image)
    for step in range(height // 6):  # a soft diagonal texture, cheap to draw
        y = step * 6
        draw.line((0, y, width, y - width // 3), fill=_shade(_colour(title), 10 if step % 2 else -6), width=3)
    draw.rectangle((0, height - 120, width, height), fill="#10141acc")
    draw.text((32, height - 92), _fit(title, 34), fill="white", font=_font(34))
    draw.text((32, height - 46), _fit(subtitle, 52), fill="#dfe6ee", font=_font(20))
    return _png(image)


def briefing_pack(title: str, lines: list[str]) -> bytes:
    """A one-page PDF: what a facilitator hands out before the session."""
    page = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1240, 180), fill=_colour(title))
    draw.text((80, 70), _fit(title, 40), fill="white", font=_font(48))
    y = 260
    for line in lines:
        draw.text((80, y), _fit(line, 70), fill="#1b1f24", font=_font(28))
        y += 56
    out = io.BytesIO()
    page.save(out, "PDF", resolution=150.0)
    return out.getvalue()


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shade(hex_colour: str, amount: int) -> str:
    rgb = [max(0, min(255, int(hex_colour[i : i + 2], 16) + amount)) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)
