"""A load generator for a chat server: many clients, a few senders, every line counted.

    python -m grader load --port 5000 --clients 200 --senders 10 --lines 100
    python -m grader load --spawn reference_solution/server.py --clients 50

N raw-socket clients register (``load0``, ``load1``, …); the first K of them each send
L chat lines ``<seq> <send time>``, then ``end``. Every client counts what it receives
from every sender, so at the end we know, per (receiver, sender) pair, which lines
arrived, how late, twice, out of order, or never. Because a server must keep each
sender's lines in order, a receiver that has seen a sender's ``end`` has seen all that
sender's lines it will ever get: completion is decided by those markers, not by waiting.

All sockets are served by one thread with ``selectors``, so the generator costs one core
whatever N is, and its own scheduling adds little to the measured latency. The send
times follow a fixed schedule (``--rate`` lines per second across all senders, open
loop), so a slow server shows up as latency rather than as a slower sender.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import selectors
import shlex
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..harness.programs import Program
from ..harness.sandbox import Limits
from ..harness.servers import Submission, launch_server
from ..profile import Profile
from ..streams import LineSplitter
from ..timing import Timing

NICK_PREFIX = "load"
END = b"end"
WELCOME = b"*** welcome "
RECV_BYTES = 65536


@dataclass
class LoadResult:
    """What one run measured. Latencies are in milliseconds."""

    clients: int
    """Clients that registered."""
    senders: int
    lines: int
    """Lines each sender sent (the ``end`` marker not counted)."""
    expected: int
    """Deliveries a correct server makes: senders × lines × (clients − 1)."""
    delivered: int = 0
    """Distinct lines that arrived where they were meant to."""
    lost: int = 0
    """Expected deliveries that never came (disconnected receivers included)."""
    duplicated: int = 0
    out_of_order: int = 0
    disconnected: int = 0
    """Clients the server closed during the run."""
    unexpected: int = 0
    """Chat lines from a sender that were garbled, or echoed back to that sender."""
    seconds: float = 0.0
    """From the first line sent to the last line received."""
    lines_per_second: float = 0.0
    """Delivered lines per second over ``seconds``."""
    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    timed_out: bool = False
    """The run hit ``--timeout`` before every receiver saw every ``end``."""
    latencies: list[float] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        verdict = "OK" if self.ok else "PROBLEMS"
        return (
            f"{verdict}: {self.clients} clients, {self.senders} senders x {self.lines} lines\n"
            f"  delivered {self.delivered}/{self.expected} in {self.seconds:.2f} s"
            f" = {self.lines_per_second:,.0f} lines/s\n"
            f"  latency ms: p50 {self.p50:.1f}  p90 {self.p90:.1f}  p99 {self.p99:.1f}"
            f"  max {self.max:.1f}\n"
            f"  lost {self.lost}  duplicated {self.duplicated}  out of order"
            f" {self.out_of_order}  unexpected {self.unexpected}"
            f"  disconnected {self.disconnected}"
            + ("  TIMED OUT" if self.timed_out else "")
        )

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.unexpected
                    or self.timed_out)


class _Client:
    """One connection: its buffers and, per sender, which sequence numbers arrived."""

    __slots__ = ("index", "sock", "inbox", "outbox", "welcomed", "closed", "seen", "next",
                 "ended")

    def __init__(self, index: int, sock: socket.socket, senders: int, lines: int) -> None:
        self.index = index
        self.sock = sock
        self.inbox = LineSplitter()
        self.outbox = bytearray(f"{NICK_PREFIX}{index}\n".encode())
        self.welcomed = False
        self.closed = False
        self.seen = [bytearray(lines) for _ in range(senders)]
        self.next = [0] * senders  # highest sequence seen + 1, per sender
        self.ended = [False] * senders


class LoadRun:
    """One run against ``host:port``; call :meth:`run` once."""

    def __init__(
        self,
        host: str,
        port: int,
        clients: int,
        senders: int,
        lines: int,
        rate: float = 1000.0,
        timeout: float = 120.0,
    ) -> None:
        if not 2 <= clients or not 1 <= senders <= clients or lines < 1:
            raise ValueError("need clients >= 2, 1 <= senders <= clients and lines >= 1")
        self.host, self.port = host, port
        self.n, self.k, self.lines = clients, senders, lines
        self.rate = rate
        self.timeout = timeout
        self.selector = selectors.DefaultSelector()
        self.clients: list[_Client] = []
        self.sender_of = {f"{NICK_PREFIX}{i}".encode(): i for i in range(senders)}
        self.latencies: list[int] = []
        self.result = LoadResult(clients, senders, lines, senders * lines * (clients - 1))
        self.duplicated = 0
        self.out_of_order = 0
        self.unexpected = 0
        self.last_delivery = 0.0

    # -- phases --------------------------------------------------------------------

    def run(self) -> LoadResult:
        raise_descriptor_limit()
        deadline = time.monotonic() + self.timeout
        started = time.monotonic()
        try:
            self._connect(deadline)
            self._pump(deadline, lambda: all(c.welcomed or c.closed for c in self.clients))
            if not all(c.welcomed for c in self.clients):
                raise ConnectionError("not every client was welcomed by the server")
            started = time.monotonic()
            self._send_and_receive(started, deadline)
        finally:
            for client in self.clients:
                with contextlib.suppress(OSError):
                    client.sock.close()
            self.selector.close()
        return self._finish(started)

    def _connect(self, deadline: float) -> None:
        for index in range(self.n):
            remaining = max(0.1, deadline - time.monotonic())
            sock = socket.create_connection((self.host, self.port), timeout=remaining)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = _Client(index, sock, self.k, self.lines)
            self.clients.append(client)
            self.selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
            # Serve what is ready, so the server's welcome lines do not pile up.
            self._pump(time.monotonic(), lambda: True, wait=0)

    def _send_and_receive(self, started: float, deadline: float) -> None:
        total = self.k * (self.lines + 1)  # every sender's lines, then its end marker
        queued = 0
        started_ns = time.monotonic_ns() - int((time.monotonic() - started) * 1e9)
        while time.monotonic() < deadline:
            now = time.monotonic()
            due = total if self.rate <= 0 else min(total, int((now - started) * self.rate) + 1)
            while queued < due:
                sender = self.clients[queued % self.k]
                seq = queued // self.k
                # Stamped with the time it was due, not when this loop got to it, so a
                # late generator cannot hide latency (no "coordinated omission").
                due_ns = (started_ns + int(queued * 1e9 / self.rate) if self.rate > 0
                          else time.monotonic_ns())
                text = END if seq == self.lines else b"%d %d" % (seq, due_ns)
                sender.outbox += text + b"\n"
                self._want_write(sender)
                queued += 1
            if queued == total:
                if self._complete():
                    return
                wait = 0.05
            else:  # until the next line is due
                wait = min(0.05, max(0.0, started + queued / self.rate - now))
            self._pump(time.monotonic(), lambda: True, wait=wait)
        self.result.timed_out = True

    def _complete(self) -> bool:
        live_senders = [i for i in range(self.k) if not self.clients[i].closed]
        return all(
            client.closed or all(client.ended[s] for s in live_senders if s != client.index)
            for client in self.clients
        )

    # -- the event loop ------------------------------------------------------------

    def _pump(self, deadline: float, done: Callable[[], bool], wait: float = 0.05) -> None:
        """Serve ready sockets until ``done()`` or ``deadline``; at least one round."""
        while True:
            for key, events in self.selector.select(timeout=wait):
                client = key.data
                if events & selectors.EVENT_READ:
                    self._on_readable(client)
                if events & selectors.EVENT_WRITE and not client.closed:
                    self._on_writable(client)
            if done() or time.monotonic() >= deadline:
                return

    def _want_write(self, client: _Client) -> None:
        if not client.closed:
            self.selector.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                                 client)

    def _on_writable(self, client: _Client) -> None:
        if client.outbox:
            try:
                sent = client.sock.send(client.outbox)
            except BlockingIOError:
                return
            except OSError:
                self._close(client)
                return
            del client.outbox[:sent]
        if not client.outbox:
            self.selector.modify(client.sock, selectors.EVENT_READ, client)

    def _on_readable(self, client: _Client) -> None:
        try:
            data = client.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(client)
            return
        now_ns = time.monotonic_ns()
        for line in client.inbox.feed(data):
            self._on_line(client, line, now_ns)

    def _on_line(self, client: _Client, line: bytes, now_ns: int) -> None:
        nick, sep, text = line.partition(b": ")
        sender = self.sender_of.get(nick) if sep else None
        if sender is None:
            if line.startswith(WELCOME):
                client.welcomed = True
            return  # join/leave notices and the like
        if text == END:
            client.ended[sender] = True
            return
        seq_text, _, stamp = text.partition(b" ")
        try:
            seq, sent_ns = int(seq_text), int(stamp)
            client.seen[sender][seq]  # noqa: B018 - a range check
        except (ValueError, IndexError):
            self.unexpected += 1
            return
        if sender == client.index:  # an echo of the client's own line
            self.unexpected += 1
            return
        if client.seen[sender][seq]:
            self.duplicated += 1
            return
        client.seen[sender][seq] = 1
        if seq < client.next[sender]:
            self.out_of_order += 1
        client.next[sender] = max(client.next[sender], seq + 1)
        self.latencies.append(now_ns - sent_ns)
        self.last_delivery = time.monotonic()

    def _close(self, client: _Client) -> None:
        if not client.closed:
            client.closed = True
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(client.sock)

    # -- results -------------------------------------------------------------------

    def _finish(self, started: float) -> LoadResult:
        result = self.result
        result.delivered = len(self.latencies)
        result.lost = result.expected - result.delivered
        result.duplicated = self.duplicated
        result.out_of_order = self.out_of_order
        result.unexpected = self.unexpected
        result.disconnected = sum(client.closed for client in self.clients)
        result.seconds = max(1e-9, (self.last_delivery or time.monotonic()) - started)
        result.lines_per_second = result.delivered / result.seconds
        result.latencies = sorted(ns / 1e6 for ns in self.latencies)
        if result.latencies:
            result.p50, result.p90, result.p99 = (
                percentile(result.latencies, q) for q in (50, 90, 99)
            )
            result.max = result.latencies[-1]
        return result


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of sorted values (nearest rank)."""
    if not ordered:
        return 0.0
    rank = math.ceil(q / 100 * len(ordered))  # 1-based
    return ordered[max(0, min(len(ordered), rank) - 1)]


def raise_descriptor_limit() -> None:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (one socket per client)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn_server(
    script: str | Path, host: str, clients: int
) -> tuple[Program, int]:
    """Start ``python script --host host --port P`` the way the grader starts a
    submission's server (sandboxed, on a free port, waited for until it listens);
    (program, port).

    Limits are generous (two threads per client is normal for a threaded server) but
    still there, since the script may be a student's."""
    script = Path(script).resolve()
    limits = Limits(memory=None, threads=4 * clients + 64, cpu_seconds=None)
    submission = Submission(script.parent, python=sys.executable)
    template = f"{{python}} {shlex.quote(script.name)} --host {host} --port {{port}}"
    server, program, _ = launch_server(submission, Profile(), Timing(), template,
                                       limits=limits)
    if server is None:
        program.stop()
        raise RuntimeError(f"{script} did not start listening: {program.output()[-500:]}")
    return program, server.port


def run_load(
    host: str = "127.0.0.1",
    port: int | None = None,
    clients: int = 50,
    senders: int = 5,
    lines: int = 100,
    rate: float = 1000.0,
    timeout: float = 120.0,
    spawn: str | Path | None = None,
) -> LoadResult:
    """Run one load test; with ``spawn``, against a server started (and stopped) here."""
    server = None
    if spawn is not None:
        server, port = spawn_server(spawn, host, clients)
    if port is None:
        raise ValueError("give --port, or --spawn a server")
    try:
        return LoadRun(host, port, clients, senders, lines, rate, timeout).run()
    finally:
        if server is not None:
            server.stop(grace=5.0)


# -- command line --------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> int:
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print("chatlab-grader load: only loopback hosts are allowed", file=sys.stderr)
        return 2
    try:
        result = run_load(args.host, args.port, args.clients, args.senders, args.lines,
                          args.rate, args.timeout, args.spawn)
    except (OSError, RuntimeError, ValueError) as error:
        print(f"chatlab-grader load: error: {error}", file=sys.stderr)
        return 2
    if args.json:
        data = asdict(result)
        del data["latencies"]
        print(json.dumps(data, indent=2))
    else:
        print(result.summary())
    return 0 if result.ok else 1


def add_load_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``load`` subcommand."""
    p = subparsers.add_parser(
        "load", help="put a chat server under load and measure it",
        description="Connect N clients; K of them send L lines each; count and time"
                    " every delivery. Loopback only.")
    p.add_argument("--host", default="127.0.0.1", help="server address (loopback only)")
    p.add_argument("--port", type=int, help="server port (not needed with --spawn)")
    p.add_argument("--clients", type=int, default=50, metavar="N")
    p.add_argument("--senders", type=int, default=5, metavar="K")
    p.add_argument("--lines", type=int, default=100, metavar="L", help="lines per sender")
    p.add_argument("--rate", type=float, default=1000.0, metavar="R",
                   help="lines per second across all senders; 0 = all at once")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="give up after this long")
    p.add_argument("--spawn", metavar="SERVER.PY",
                   help="start this server on a free port first, stop it afterwards")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_load)


register_load = add_load_parser  # the name grader.cli's SUBCOMMANDS convention uses
