"""What a page derives from a play session, read once per change for every page of the process.

Twenty open boards hear of the same event at the same moment and would each read the same session
again: the same rows, the same events folded into the same scores. A `SessionMemo` keeps what was
read for each session, good until the hub (console/live/listener.py) hears that the session changed
again, and lets one reader read what several wait for (the others then find it here).

Only what is the same for every viewer goes in: which sessions a viewer may see is asked of the
database on every read, before the memo is consulted (console/services/sessions/live_board.py), so
the memo can never show anyone a session outside their reach.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from console.live.listener import HUB, Hub

V = TypeVar("V")
Reader = Callable[[list[uuid.UUID]], dict[uuid.UUID, V]]


class SessionMemo(Generic[V]):
    def __init__(self, hub: Hub = HUB, *, max_entries: int = 5_000) -> None:
        self._hub = hub
        self._max = max_entries
        self._values: dict[uuid.UUID, tuple[tuple[int, int], V]] = {}
        self._reading = threading.Lock()

    def values(self, ids: Iterable[uuid.UUID], read: Reader) -> dict[uuid.UUID, V]:
        """Each session's value: from the memo when nothing was heard of it since it was read, else
        from `read(missing ids)` (one caller reads at a time; those waiting find what it read)."""
        ids = list(ids)
        versions = {i: self._hub.version(i) for i in ids}  # before reading: a change heard meanwhile wins
        found = self._fresh(ids, versions)
        missing = [i for i in ids if i not in found]
        if missing:
            with self._reading:
                found.update(self._fresh(missing, versions))
                missing = [i for i in missing if i not in found]
                if missing:
                    read_now = read(missing)
                    for session_id, value in read_now.items():
                        self._keep(session_id, versions[session_id], value)
                    found.update(read_now)
        return found

    def _fresh(self, ids: list[uuid.UUID], versions: dict[uuid.UUID, tuple[int, int]]) -> dict[uuid.UUID, V]:
        out = {}
        for session_id in ids:
            held = self._values.get(session_id)
            if held is not None and held[0] == versions[session_id]:
                out[session_id] = held[1]
        return out

    def _keep(self, session_id: uuid.UUID, version: tuple[int, int], value: V) -> None:
        self._values.pop(session_id, None)
        self._values[session_id] = (version, value)
        while len(self._values) > self._max:  # the longest unread go first
            self._values.pop(next(iter(self._values)))

    def __len__(self) -> int:
        return len(self._values)
