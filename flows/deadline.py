"""A time limit on a whole conversation over sockets (an E-utilities answer, an SMTP session).

A socket timeout bounds each read, not the conversation: a server that sends one byte every
two seconds keeps every read short and the conversation endless. When a Deadline passes it
shuts its sockets down from a timer thread, which wakes the read or write blocked on them
(connect, TLS handshake, headers, body). It holds duplicates of the sockets: shutting one
down stops the connection, and a duplicate cannot be closed and its number reused by another
connection meanwhile.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Deadline:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        self._generation = 0  # a timer of an earlier arm does nothing
        self._finished = False
        self.expired = False
        self.seconds = 0.0  # the limit last armed

    def watch(self, sock: socket.socket) -> None:
        """Include a socket the conversation has just opened."""
        with self._lock:
            if not self._finished:
                self._sockets.append(sock.dup())
                if self.expired:
                    _shut(self._sockets[-1])

    def arm(self, seconds: float) -> None:
        """From now, `seconds` to the next arm or finish."""
        with self._lock:
            if self._finished:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._generation += 1
            self.seconds = seconds
            self._timer = threading.Timer(seconds, self._expire, (self._generation,))
            self._timer.daemon = True
            self._timer.start()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def _expire(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation and not self._finished:
                self.expired = True
                for sock in self._sockets:
                    _shut(sock)

    def finish(self) -> None:
        """The conversation is over: no more cutting, the duplicates closed."""
        with self._lock:
            self._finished = True
            self._generation += 1
            timer, sockets, self._sockets = self._timer, self._sockets, []
        if timer is not None:
            timer.cancel()
        for sock in sockets:
            sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
