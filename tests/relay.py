"""A TCP relay between the ledger and PostgreSQL that can fail the ways networks do."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class Relay:
    """Forwards connections to ``target``; :meth:`cut` closes them all and refuses new
    ones (a stopped server), :meth:`black_hole` keeps them open but forwards nothing (a
    path that drops packets), :meth:`restore` forwards again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(128)
        self.mode = "forward"
        self.sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def to_url(cls, url: str) -> tuple[Relay, str]:
        """A relay to the server of ``url``, and ``url`` pointed at the relay."""
        parts = urlsplit(url)
        relay = cls((parts.hostname or "127.0.0.1", parts.port or 5432))
        credentials, _, _ = parts.netloc.rpartition("@")
        host = f"127.0.0.1:{relay.port}"
        netloc = f"{credentials}@{host}" if credentials else host
        return relay, urlunsplit(parts._replace(netloc=netloc))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "cut":
                client.close()
                continue
            with self._lock:
                self.sockets.append(client)
            if self.mode == "black_hole":
                continue  # held open, never answered
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.sockets.append(server)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.mode == "black_hole":
                    threading.Event().wait(0.05)  # swallowed until restored or closed
                    if source.fileno() < 0:
                        return
                if self.mode == "cut":
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _close_all(self) -> None:
        with self._lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def cut(self) -> None:
        self.mode = "cut"
        self._close_all()

    def black_hole(self) -> None:
        self.mode = "black_hole"

    def restore(self) -> None:
        if self.mode == "black_hole":
            self._close_all()  # what was swallowed is gone; clients reconnect
        self.mode = "forward"

    def close(self) -> None:
        self.cut()
        self.listener.close()
