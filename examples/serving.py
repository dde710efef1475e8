"""Serving an example on 127.0.0.1 with uvicorn; a port in use is one plain sentence."""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any


def listen(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:``port``; exits with one line on stderr if it cannot be."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            sys.exit(
                f"error: port {port} on 127.0.0.1 is already in use; stop what is using it "
                f"or choose another port with --port {port + 1 if port < 65535 else 8000}"
            )
        sys.exit(f"error: cannot listen on 127.0.0.1:{port} ({e.strerror}); try another --port")
    return sock


def run(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket until Ctrl+C."""
    import uvicorn

    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
