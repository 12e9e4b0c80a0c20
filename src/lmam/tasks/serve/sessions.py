"""Live conversations of the service: one session per dialogue, with limits and expiry.

A session of a causal model (its prediction of an utterance ignores later ones) is
an :class:`~lmam.train.predictor.OnlineSession`: each added utterance is answered
once, and earlier answers never change. A session of a non-causal model keeps the
dialogue and reruns the model over all of it at every utterance; its answer holds
every utterance's prediction so far, since later utterances may change earlier ones.
Sessions left idle longer than the timeout expire and free their memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmam.data.conversation_files import ConversationFile, Dialogue, Utterance
from lmam.train.predictor import OnlineSession, Prediction, Predictor


class SessionLimitError(Exception):
    """No room for another session (``--max-sessions``)."""


class UnknownSessionError(KeyError):
    """No open session of that id (never opened, closed, or expired)."""


@dataclass
class LiveSession:
    """One dialogue of the service."""

    id: str
    online: OnlineSession | None  # causal models
    said: list[Utterance] = field(default_factory=list)  # non-causal: the dialogue so far
    touched: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, predictor: Predictor, speaker: str, text: str) -> list[Prediction]:
        """The new utterance's prediction (causal), or every utterance's so far (rerun)."""
        with self.lock:
            self.touched = time.monotonic()
            if self.online is not None:
                return [self.online.add(speaker, text)]
            self.said.append(Utterance(len(self.said), speaker, text))
            conv = ConversationFile(
                Path(f"<session {self.id}>"),
                [Dialogue(self.id, list(self.said))],
                ("dialogue", "turn", "speaker", "text"),
            )
            return predictor.predict(conv)

    def __len__(self) -> int:
        return len(self.online.order) if self.online is not None else len(self.said)


class Sessions:
    """The open sessions, at most ``limit``, each expiring after ``idle`` seconds unused."""

    def __init__(self, predictor: Predictor, causal: bool, limit: int, idle: float) -> None:
        self.predictor = predictor
        self.causal = causal
        self.limit = limit
        self.idle = idle
        self._open: dict[str, LiveSession] = {}
        self._lock = threading.Lock()

    def open(self) -> LiveSession:
        with self._lock:
            self._expire()
            if len(self._open) >= self.limit:
                raise SessionLimitError(
                    f"{self.limit} sessions are open, the most this server keeps (--max-sessions); "
                    "close one (DELETE /v1/sessions/ID) or wait for idle ones to expire"
                )
            sid = secrets.token_urlsafe(12)
            online = self.predictor.session(sid) if self.causal else None
            session = LiveSession(sid, online)
            self._open[sid] = session
            return session

    def get(self, sid: str) -> LiveSession:
        with self._lock:
            self._expire()
            session = self._open.get(sid)
            if session is None:
                raise UnknownSessionError(sid)
            session.touched = time.monotonic()
            return session

    def close(self, sid: str) -> None:
        with self._lock:
            if self._open.pop(sid, None) is None:
                raise UnknownSessionError(sid)
            if not self._open:
                release_memory()

    def count(self) -> int:
        """The open sessions, after dropping those idle too long."""
        with self._lock:
            self._expire()
            return len(self._open)

    def _expire(self) -> None:
        now = time.monotonic()
        idle = [s for s, v in self._open.items() if now - v.touched > self.idle]
        for sid in idle:
            del self._open[sid]
        if idle and not self._open:
            release_memory()

    def describe(self) -> dict[str, Any]:
        return {"open": self.count(), "limit": self.limit, "idle_seconds": self.idle}


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8


def steady_allocator(mmap_threshold: int = 128 * 1024, arenas: int = 2) -> bool:
    """Make a long-running server give freed memory back (glibc only; elsewhere nothing).

    Blocks of ``mmap_threshold`` bytes or more (a session's tensors) are mapped on
    their own and returned to the system when freed: fixing the threshold stops glibc
    from raising it after each such free, which would put the next ones in the heap,
    where a free block behind a live one cannot be returned. At most ``arenas`` heaps
    serve the threads that run the model, so fewer free blocks sit apart. The process
    owner calls it (``lmam serve`` does, at start); a library never changes it alone.

    Returns:
        Whether both settings were taken.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        libc.mallopt(M_ARENA_MAX, arenas)
    )


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def release_memory() -> None:
    """Give the memory of closed sessions back to the system: collect cycles, then ask
    glibc to return its free heap pages (``malloc_trim``; elsewhere only the collection).
    Called when the last open session closes or expires."""
    gc.collect()
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
