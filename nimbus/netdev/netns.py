"""Opening a listening socket inside a named network namespace from this process.

A socket belongs to the namespace its creating thread was in, and stays there. So a
short-lived thread enters the namespace with setns(2) (through ctypes: Python 3.11 has no
os.setns), creates and binds the socket, and ends; the event loop then serves it like any
other. A fresh thread each time, because a pooled thread left in a tenant namespace would
run unrelated work there.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _enter(namespace: str) -> None:
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns into {namespace}: {os.strerror(error)}")
    finally:
        os.close(fd)


def _bind(namespace: str, host: str, port: int) -> socket.socket:
    _enter(namespace)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def listen_in(namespace: str, host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket listening on host:port inside `namespace`."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[socket.socket] = loop.create_future()

    def work() -> None:
        try:
            result = _bind(namespace, host, port)
        except BaseException as error:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(done.set_exception, error)
        else:
            loop.call_soon_threadsafe(done.set_result, result)

    threading.Thread(target=work, name=f"setns-{namespace}", daemon=True).start()
    return await done
