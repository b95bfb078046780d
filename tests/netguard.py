"""Refuse every connection that leaves this machine.

Installed for the whole test session by conftest.py, and in CLI subprocesses
started by the tests: a test that would need the internet fails loudly instead
of passing here and hanging elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket

violations: list[str] = []

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class OutboundConnectionBlocked(ConnectionRefusedError):
    pass


def _is_local(host: object) -> bool:
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets and the like stay on the machine.
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        violations.append(f"connect to {address!r}")
        raise OutboundConnectionBlocked(f"tests may not connect to {address!r}")


def _connect(self: socket.socket, address) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    if not _is_local(host if not isinstance(host, bytes) else host.decode()):
        violations.append(f"name lookup of {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not look up {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo
