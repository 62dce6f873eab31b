"""An upload's bytes as they arrive, bounded while they stream.

The boundary feeds the request body in chunks; `Intake` refuses as soon as the file is sure to be
refused, so an oversized or unwanted file is never read to its end:

- a declared length over the largest limit of any kind is refused before a byte is read;
- once the first bytes (`HEAD_BYTES`) are in, the kind they announce picks the limit (a "PNG" of
  300 MiB stops at the image limit, 10 MiB by default), and a head that is no allowed kind stops there;
- past that limit, reading stops.

What has arrived is spooled: in memory up to `SPOOL_BYTES`, on disk after, so memory stays bounded
whatever the file's size. `close()` removes the spool (also after a refusal).
"""

from __future__ import annotations

import io
import tempfile
from typing import BinaryIO

from console.config import Settings, get_settings
from console.services.media.inspection import (
    HEAD_BYTES,
    Kind,
    largest_allowed,
    max_bytes,
    not_accepted,
    sniff,
    too_large,
)

SPOOL_BYTES = 1024 * 1024


class Intake:
    def __init__(self, *, declared_size: int | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.kind: Kind | None = None
        self.limit = largest_allowed(self.settings)
        self.declared_size = declared_size
        self.size = 0
        self.file: BinaryIO = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (see close)
        if declared_size is not None and declared_size > self.limit:
            self.close()
            raise too_large(None, self.settings)

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk; raises ValidationFailed (TooLarge past a limit) once it cannot be accepted."""
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.kind.type if self.kind else None, self.settings)
        self.file.write(chunk)
        if self.kind is None and self.size >= HEAD_BYTES:
            self._sniff()

    def finish(self) -> BinaryIO:
        """The whole file, rewound (the library still inspects it in full)."""
        if self.kind is None and self.size:
            self._sniff()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()

    def _sniff(self) -> None:
        self.file.seek(0)
        head = self.file.read(HEAD_BYTES)
        self.file.seek(0, io.SEEK_END)
        kind = sniff(head)
        if kind is None:
            raise not_accepted(head)
        self.kind = kind
        self.limit = max_bytes(kind.type, self.settings)
        if max(self.size, self.declared_size or 0) > self.limit:
            raise too_large(kind.type, self.settings)
