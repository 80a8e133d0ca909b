"""Client programs handed from one client check to the next.

Most client checks begin the same way: start the client with ``--nick ana``, accept it
at a fake server, take its nickname line and welcome it. A check that passed and left
its client in the input loop (still running, nothing unread, no traceback) hands the
client, its fake server and its connection to the next check that begins that way,
which saves a process start per check. A client the user has typed into goes only to
a check that types before anything else (a client may do more once a line was typed,
such as start its receiving thread only then). As with shared servers
(:mod:`grader.harness.servers`), a check that fails on a handed-over client is run
again on a fresh one and only that verdict counts; from then on no client is shared.
"""

from __future__ import annotations

import contextlib
import select
import threading
from dataclasses import dataclass

import pexpect

from ..timing import Timing
from .fake_client import Peer
from .fake_server import FakeServer
from .student_client import ClientSession
from .transcript import Transcript

KEEP = 3  # clients kept at most: no more client checks than that take one at once


@dataclass
class HeldClient:
    """A welcomed client in its input loop, with the fake server it is connected to."""

    session: ClientSession
    fake: FakeServer
    conn: Peer
    nick: str

    def ready(self) -> bool:
        """Whether the next check may take it as if it had just been welcomed: it runs,
        printed no traceback, and neither side has anything left to read or do."""
        with contextlib.suppress(pexpect.EOF, OSError):
            while self.session._pump(0):  # what it printed last, a traceback too
                pass
        sock = self.conn.sock
        if (self.conn.eof or sock is None or sock.fileno() == -1 or self.conn.lines.pending
                or not self.session.child.isalive() or self.session.has_traceback()):
            return False
        try:
            return not select.select([sock], [], [], 0)[0]  # nothing the client sent
        except (OSError, ValueError):
            return False

    def hand_to(self, transcript: Transcript, timing: Timing) -> None:
        """Give the client to a new check: it records into that check's transcript,
        waits by its deadlines, and its screen starts empty (what it showed before
        belongs to the checks before)."""
        session = self.session
        session.screen = ""
        session.transcript = transcript
        session.timing = timing
        self.fake.transcript = self.conn.transcript = transcript
        self.fake.timing = self.conn.timing = timing

    def stop(self) -> None:
        self.conn.close(log=False)
        self.fake.close()
        self.session.stop()


class ClientPool:
    """The clients handed back by checks that passed; see the module docstring."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._held: list[HeldClient] = []
        self._lock = threading.Lock()
        self._sharing = True

    def get(self, nick: str, *, typed: bool = False) -> HeldClient | None:
        """A held client registered as ``nick`` (it is yours to stop or give back), or
        None: start a fresh one. ``typed``: one the user has typed into will do."""
        with self._lock:
            if not self._sharing:
                return None
            fits = [held for held in self._held
                    if held.nick == nick and (typed or not held.session.typed)]
            if typed:  # one typed into first: the others can serve any check
                fits.sort(key=lambda held: not held.session.typed)
            if not fits:
                return None
            self._held.remove(fits[0])
            return fits[0]

    def give_back(self, held: HeldClient) -> None:
        """Take back the client of a check that passed; stopped unless it is ready for
        the next one and there is room."""
        keep = held.ready()  # reads the client's last output: not under the lock
        with self._lock:
            keep = keep and self._sharing and len(self._held) < self._keep
            if keep:
                self._held.append(held)
        if not keep:
            held.stop()

    def stop_sharing(self) -> None:
        """From now on every check starts its own client (one failed on a shared one)."""
        with self._lock:
            self._sharing = False
            held, self._held = self._held, []
        for client in held:
            client.stop()

    def close(self) -> None:
        """Stop every client still held."""
        self.stop_sharing()
