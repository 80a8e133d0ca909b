"""A one-connection chat server the grader plays, to test the student's client."""

from __future__ import annotations

import errno
import socket
import time

from ..failures import Hung
from ..messages import L_
from ..timing import Timing
from .fake_client import CLIENT, Peer
from .transcript import Transcript


class FakeServer:
    """Listens on a free loopback port; :meth:`accept` returns the client's connection
    as a :class:`Peer` named ``server`` (what the grader sends, the client receives)."""

    def __init__(self, transcript: Transcript, timing: Timing, host: str = "127.0.0.1",
                 *, port: int = 0, framing: str = "newline") -> None:
        self.transcript = transcript
        self.framing = framing
        self.timing = timing
        self.host = host
        # A client that hard-codes its server's address gets it (the run has a loopback
        # of its own, so the port is free); others are told a free one.
        self.listener = self._listen(host, port, time.monotonic() + timing.start)
        self.port: int = self.listener.getsockname()[1]
        self.peers: list[Peer] = []

    @staticmethod
    def _listen(host: str, port: int, deadline: float) -> socket.socket:
        """Listen on ``host``:``port``; a fixed port may still be held by the server of
        the check before (being stopped): wait for it, until ``deadline``."""
        while True:
            try:
                return socket.create_server((host, port), backlog=8)
            except OSError as error:
                if error.errno != errno.EADDRINUSE or not port or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # the other program is exiting: its port is freed then

    def accept(self, *, is_alive=None) -> Peer:
        """Wait for the client to connect: as long as a program gets to start (a client
        that never connects is reported within it, however busy the machine is)."""
        deadline = time.monotonic() + self.timing.start
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Hung(
                    L_("The client never connected to the server at {host}:{port} within"
                       " {seconds:.1f} s.", host=self.host, port=self.port,
                       seconds=self.timing.start),
                    expected=L_("a connection from the client"),
                    actual=L_("no connection"),
                )
            # Short slices so a client that already exited is noticed at once.
            self.listener.settimeout(min(remaining, 0.1))
            try:
                sock, address = self.listener.accept()
                break
            except TimeoutError:
                if is_alive is not None and not is_alive():
                    raise Hung(
                        L_("The client exited without connecting to the server."),
                        expected=L_("a connection from the client"),
                        actual=L_("the client exited"),
                    ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transcript.add("server", "accepted", L_("a client from {host}:{port}",
                                                     host=address[0], port=address[1]))
        peer = Peer("server", self.transcript, self.timing, sock, other=CLIENT,
                    framing=self.framing)
        self.peers.append(peer)
        return peer

    def close(self) -> None:
        self.listener.close()
        for peer in self.peers:
            peer.close(log=False)
