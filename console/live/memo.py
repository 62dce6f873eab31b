"""What a page derives from a play session, read once per change for every page of the process.

Twenty open boards hear of the same event at the same moment and would each read the same session
again: the same rows, the same events folded into the same scores. A `SessionMemo` keeps what was
read for each session, good until the hub (console/live/listener.py) hears that the session changed
again. When several pages ask for a session at once, one reads it and the others wait for it (a
session each, so readers of different sessions never wait for one another).

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
    # How long a reader waits for another that is reading the same session before reading it itself.
    WAIT_SECONDS = 5.0

    def __init__(self, hub: Hub = HUB, *, max_entries: int = 5_000) -> None:
        self._hub = hub
        self._max = max_entries
        self._values: dict[uuid.UUID, tuple[tuple[int, int], V]] = {}
        self._reading: dict[uuid.UUID, threading.Event] = {}  # sessions being read now, by whom not said
        self._guard = threading.Lock()  # held for dict work only, never while reading

    def values(self, ids: Iterable[uuid.UUID], read: Reader) -> dict[uuid.UUID, V]:
        """Each session's value: from the memo when nothing was heard of it since it was read, else read
        by `read(ids)`. A session another caller is reading already is waited for, not read twice;
        different sessions are read side by side."""
        ids = list(dict.fromkeys(ids))
        versions = {i: self._hub.version(i) for i in ids}  # before reading: a change heard meanwhile wins
        with self._guard:
            found = self._fresh(ids, versions)
            mine = [i for i in ids if i not in found and i not in self._reading]
            theirs = {i: self._reading[i] for i in ids if i not in found and i in self._reading}
            for session_id in mine:
                self._reading[session_id] = threading.Event()
        if mine:
            try:
                read_now = read(mine)
                with self._guard:
                    for session_id, value in read_now.items():
                        self._keep(session_id, versions[session_id], value)
                found.update(read_now)
            finally:
                with self._guard:
                    for session_id in mine:
                        self._reading.pop(session_id).set()
        if theirs:
            for done in theirs.values():
                done.wait(self.WAIT_SECONDS)
            with self._guard:
                found.update(self._fresh(list(theirs), versions))
            # Read by the other caller as of an older change, or not at all (it failed): read it here.
            late = [i for i in theirs if i not in found]
            if late:
                found.update(read(late))
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
