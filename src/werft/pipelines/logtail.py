"""The end of a job's output, bounded in memory.

A training run may print gigabytes; what matters is usually the end, where
the error is. :class:`LogTail` keeps the last ``limit`` bytes and says how
much came before.
"""

from __future__ import annotations

import threading

DEFAULT_LOG_LIMIT = 4 * 1024 * 1024


class LogTail:
    """The last ``limit`` bytes written to it; safe to write and read from two threads."""

    def __init__(self, limit: int = DEFAULT_LOG_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least one byte")
        self._limit = limit
        self._buffer = bytearray()
        self._dropped = 0
        self._at_line_start = True  # whether the kept part starts a line
        self._lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``, dropping the oldest bytes beyond the limit."""
        with self._lock:
            self._buffer += chunk
            excess = len(self._buffer) - self._limit
            if excess > 0:
                self._at_line_start = self._buffer[excess - 1] == ord("\n")
                # Deleting from the front of a bytearray is cheap in CPython.
                del self._buffer[:excess]
                self._dropped += excess

    @property
    def truncated(self) -> bool:
        """Whether anything was dropped."""
        with self._lock:
            return self._dropped > 0

    def text(self) -> str:
        """The kept output as text, opened by a note when the beginning was cut."""
        with self._lock:
            data = bytes(self._buffer)
            dropped = self._dropped
            at_line_start = self._at_line_start
        if not dropped:
            return data.decode("utf-8", errors="replace")
        # Start at a line boundary rather than in the middle of a line (or of a
        # multi-byte character), when the kept part has one.
        newline = data.find(b"\n")
        if not at_line_start and 0 <= newline < len(data) - 1:
            dropped += newline + 1
            data = data[newline + 1 :]
        note = (
            f"[werft: the first {dropped} bytes of output were cut; "
            f"the last {len(data)} bytes follow]\n"
        )
        return note + data.decode("utf-8", errors="replace")
