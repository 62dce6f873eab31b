"""Small pieces the studio's tabs share."""

from __future__ import annotations

STATUS_COLORS = {
    "draft": "grey-7",
    "review": "deep-orange-10",
    "staged": "purple",
    "published": "positive",
    "archived": "blue-grey-8",
}


def size_label(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
