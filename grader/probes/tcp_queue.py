"""How many bytes sent on a loopback connection the other end has not read yet.

The framing checks send a line in pieces and need the program under test to ``recv()``
each piece before the next is sent: otherwise the pieces may wait together in its
receive queue and come out of one ``recv()``, and a server that decodes each chunk on
its own would pass by luck. Linux tells the length of any socket's queues through the
``sock_diag`` netlink interface (what ``ss`` uses): we ask for the one socket at the
other end of our connection, an exact lookup that costs microseconds however many
sockets the machine has (reading ``/proc/net/tcp`` costs milliseconds once thousands of
connections wait in TIME_WAIT, as they do during a batch).

Elsewhere :func:`unread_by_other_end` returns None and :func:`wait_read` falls back to a
short pause.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import itertools
import socket
import struct
import threading
import time

POLL = 0.001  # seconds between two questions to the kernel

# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
INET_DIAG_NOCOOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_REQUEST = struct.Struct("=BBBxI")  # inet_diag_req_v2: family, protocol, ext, states
_SOCKID = struct.Struct("!HH16s16s")  # inet_diag_sockid: ports and addresses (big-endian)
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie (two words)
_MESSAGE = struct.Struct("=BBBB")  # inet_diag_msg: family, state, timer, retransmits
_QUEUES = struct.Struct("=III")  # inet_diag_msg after the sockid: expires, rqueue, wqueue

_sequence = itertools.count(1)
_local = threading.local()  # one netlink socket per thread


def _netlink() -> socket.socket | None:
    sock = getattr(_local, "sock", None)
    if sock is None and hasattr(socket, "AF_NETLINK"):
        with contextlib.suppress(OSError):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
            sock.settimeout(1.0)
            _local.sock = sock
    return sock


def _packed(address: str) -> bytes:
    return ipaddress.ip_address(address.split("%")[0]).packed.ljust(16, b"\0")


def queues(local: tuple, remote: tuple, family: int) -> tuple[int, int] | None:
    """(receive queue, send queue) in bytes of the TCP socket bound to ``local`` and
    connected to ``remote``; (0, 0) if there is none; None if the system does not say."""
    sock = _netlink()
    if sock is None:
        return None
    sequence = next(_sequence) & 0xFFFFFFFF
    request = (
        _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0xFFFFFFFF)
        + _SOCKID.pack(local[1], remote[1], _packed(local[0]), _packed(remote[0]))
        + _SOCKID_TAIL.pack(0, INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE)
    )
    message = _HEADER.pack(_HEADER.size + len(request), SOCK_DIAG_BY_FAMILY,
                           NLM_F_REQUEST, sequence, 0) + request
    try:
        sock.sendto(message, (0, 0))
        while True:
            reply = sock.recv(8192)
            _, kind, _, seq, _ = _HEADER.unpack_from(reply)
            if seq == sequence:
                break
    except OSError:
        return None
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", reply, _HEADER.size)
        return (0, 0) if -error == errno.ENOENT else None  # ENOENT: no such socket
    offset = _HEADER.size + _MESSAGE.size + _SOCKID.size + _SOCKID_TAIL.size
    _, rqueue, wqueue = _QUEUES.unpack_from(reply, offset)
    return rqueue, wqueue


def unread_by_other_end(sock: socket.socket) -> int | None:
    """Bytes sent on ``sock`` (a TCP connection on this machine) that the other end has
    not read yet: still in our send queue or in its receive queue. None if the system
    does not say."""
    try:
        mine, theirs = sock.getsockname(), sock.getpeername()
    except OSError:
        return None
    ours = queues(mine, theirs, sock.family)
    its = queues(theirs, mine, sock.family)
    if ours is None or its is None:
        return None
    return ours[1] + its[0]


def wait_read(sock: socket.socket, deadline: float, fallback: float) -> bool:
    """Wait until the other end of ``sock`` has read everything sent so far, or the
    monotonic ``deadline`` passes (False). Without the kernel's figures, pause for
    ``fallback`` seconds and return True."""
    while True:
        unread = unread_by_other_end(sock)
        if unread is None:
            time.sleep(fallback)
            return True
        if unread == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
