"""`federange api --workers N` listens on a socket it makes itself (uvicorn's loses TCP_NODELAY on
accepted connections, Kludex/uvicorn#3149): protocol IPPROTO_TCP, so asyncio turns Nagle off on each
accepted connection, and TCP_NODELAY on the listener, which accepted connections inherit."""

from __future__ import annotations

import socket

from orchestrator.cli.server import _listening_socket


def test_accepted_connections_have_nagle_off() -> None:
    listener = _listening_socket("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.get_inheritable()  # the worker processes accept on it
        listener.listen(1)
        with socket.create_connection(listener.getsockname(), timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
