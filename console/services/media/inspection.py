"""What an uploaded file really is: its kind decided by its bytes, and the limits it must keep.

The kind is decided by the bytes (puremagic's signatures, then a real parser: Pillow for images,
mutagen for audio and video, the PDF header for documents), never by the name or declared type.
HTML, SVG, XML and anything else outside the allow-list is refused (SECURITY.md 20). Size limits per
kind and an image pixel limit come from settings (`media_max_*`).

Durations: mutagen reads MP3, WAV, OGG and MP4/M4A/MOV; WebM durations are left empty (no pure-Python
reader in our dependencies, and ffprobe is not assumed to be installed).
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

import puremagic

from console.config import Settings, get_settings
from console.errors import TooLarge, ValidationFailed
from models.enums import MediaType


@dataclass(frozen=True)
class Kind:
    type: MediaType
    mime: str
    extension: str


# The allow-list, by puremagic's detected extension.
ALLOWED: dict[str, Kind] = {
    ".png": Kind(MediaType.image, "image/png", ".png"),
    ".jpg": Kind(MediaType.image, "image/jpeg", ".jpg"),
    ".jpeg": Kind(MediaType.image, "image/jpeg", ".jpg"),
    ".gif": Kind(MediaType.image, "image/gif", ".gif"),
    ".webp": Kind(MediaType.image, "image/webp", ".webp"),
    ".mp3": Kind(MediaType.audio, "audio/mpeg", ".mp3"),
    ".wav": Kind(MediaType.audio, "audio/wav", ".wav"),
    ".ogg": Kind(MediaType.audio, "audio/ogg", ".ogg"),
    ".oga": Kind(MediaType.audio, "audio/ogg", ".ogg"),
    ".m4a": Kind(MediaType.audio, "audio/mp4", ".m4a"),
    ".mp4": Kind(MediaType.video, "video/mp4", ".mp4"),
    ".m4v": Kind(MediaType.video, "video/mp4", ".mp4"),
    ".mov": Kind(MediaType.video, "video/quicktime", ".mov"),
    ".webm": Kind(MediaType.video, "video/webm", ".webm"),
    ".pdf": Kind(MediaType.document, "application/pdf", ".pdf"),
}
MIME_BY_EXTENSION = {k.extension: k.mime for k in ALLOWED.values()}
_PIL_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}


def max_bytes(kind: MediaType, settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    return {
        MediaType.image: settings.media_max_image_bytes,
        MediaType.audio: settings.media_max_audio_bytes,
        MediaType.video: settings.media_max_video_bytes,
        MediaType.document: settings.media_max_document_bytes,
    }[kind]


def largest_allowed(settings: Settings | None = None) -> int:
    return max(max_bytes(k, settings) for k in MediaType)


@dataclass
class Inspected:
    kind: Kind
    duration_seconds: int | None = None
    width: int | None = None
    height: int | None = None


# The allow-list's kinds are all told apart by their first bytes: the head is enough to pick the size
# limit that applies while an upload is still arriving (`console/services/media/intake.py`).
HEAD_BYTES = 64 * 1024


def sniff(head: bytes) -> Kind | None:
    """The allowed kind these first bytes announce, if any (the full check is `inspect_file`)."""
    try:
        candidates = puremagic.magic_string(head)
    except puremagic.PureError:
        return None
    return next((ALLOWED[c.extension] for c in candidates if c.extension in ALLOWED), None)


def not_accepted(head: bytes) -> ValidationFailed:
    try:
        found = next((c.mime_type or c.extension for c in puremagic.magic_string(head)), "unknown")
    except puremagic.PureError:
        found = "unknown"
    return ValidationFailed(
        "This type of file is not accepted.",
        details={"file": f"detected {found}; images (PNG, JPEG, GIF, WebP), audio, video and PDF are accepted"},
    )


def too_large(kind: MediaType | None, settings: Settings | None = None) -> TooLarge:
    """The refusal of a file over its kind's limit (or, kind still unknown, over every kind's)."""
    if kind is None:
        limit = largest_allowed(settings)
        return TooLarge(
            "The file is too large.", details={"file": f"files are limited to {limit // (1024 * 1024)} MiB"}
        )
    limit = max_bytes(kind, settings)
    return TooLarge(
        "The file is too large.", details={"file": f"{kind.value} files are limited to {limit // (1024 * 1024)} MiB"}
    )


def inspect_bytes(data: bytes, settings: Settings | None = None) -> Inspected:
    """`inspect_file` for bytes already in memory."""
    return inspect_file(io.BytesIO(data), settings)


def inspect_file(file: BinaryIO, settings: Settings | None = None) -> Inspected:
    """Decide what a file is and check it; ValidationFailed says why it is refused.

    Works on a seekable file, so an upload spooled to disk is never read into memory whole: the parsers
    read headers and seek.
    """
    settings = settings or get_settings()
    size = file.seek(0, io.SEEK_END)
    if not size:
        raise ValidationFailed("The file is empty.", details={"file": "empty file"})
    file.seek(0)
    head = file.read(HEAD_BYTES)
    kind = sniff(head)
    if kind is None:
        raise not_accepted(head)
    if size > max_bytes(kind.type, settings):
        raise too_large(kind.type, settings)
    result = Inspected(kind=kind)
    file.seek(0)
    if kind.type is MediaType.image:
        _check_image(file, kind, settings, result)
    elif kind.type in (MediaType.audio, MediaType.video):
        result.duration_seconds = _duration(file, kind)
    elif not head.startswith(b"%PDF-"):
        raise ValidationFailed("This file is not a readable PDF.", details={"file": "not a PDF"})
    file.seek(0)
    return result


def _check_image(file: BinaryIO, kind: Kind, settings: Settings, result: Inspected) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            width, height = image.size  # read from the header; nothing is decoded yet
            if image.format != _PIL_FORMATS.get(kind.extension):
                raise ValidationFailed("The image is not what it claims to be.", details={"file": "corrupt image"})
            if width < 1 or height < 1 or width * height > settings.media_max_image_pixels:
                raise ValidationFailed(
                    "The image's dimensions are not accepted.",
                    details={
                        "file": f"{width}×{height} pixels is over the limit of {settings.media_max_image_pixels:,}"
                    },
                )
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationFailed("The image cannot be read.", details={"file": "corrupt image"}) from exc
    result.width, result.height = width, height


def _duration(file: BinaryIO, kind: Kind) -> int | None:
    from mutagen import MutagenError
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggvorbis import OggVorbis
    from mutagen.wave import WAVE

    reader = {".mp3": MP3, ".wav": WAVE, ".ogg": OggVorbis, ".m4a": MP4, ".mp4": MP4, ".mov": MP4}.get(kind.extension)
    if reader is None:
        return None  # WebM: no pure-Python reader here; the duration stays empty
    try:
        length = reader(file).info.length
    except (MutagenError, ValueError, OSError) as exc:
        raise ValidationFailed("The file cannot be read.", details={"file": f"not a readable {kind.mime}"}) from exc
    return round(length) if length else None


def clean_filename(raw: str | None) -> str:
    """The user's filename as safe display metadata: no folders, no control characters, no tricks."""
    name = raw or ""
    for _ in range(3):  # %252e%252e → %2e%2e → ..
        decoded = unquote(name)
        if decoded == name:
            break
        name = decoded
    name = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"
