"""Benchmark: does a client that never reads slow down anybody else? (``make bench``)

    python scripts/bench_slow_readers.py [--slow 10] [--readers 3] [--lines 150000]
                                         [--server reference_solution/server.py]

Starts the server on a free port and connects, in this order: the reading clients (they
read everything, as fast as they can), the slow readers (they register and never call
``recv()`` again; a 4 KiB receive buffer makes them fill up sooner) and one sender, which
sends a burst of short lines, each stamped with the time it was handed to the socket.
The sender stays at most WINDOW lines ahead of the slowest reading client, so a line's
delay is the server's doing and not a queue in this script's sockets, and the time the
sender waits for that window is the time the chat stood still for it. The same burst is
then sent once more to a fresh server without slow readers, as the baseline.

Prints figures, not a verdict. ``--server`` runs another copy of ``server.py`` (an older
version, say) to compare. All clients are on 127.0.0.1 in this process; the server is a
child process in its own process group, stopped by its PID at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "reference_solution" / "server.py"
LISTENING = re.compile(rb"^listening on \S+:(\d+)$")
CHUNK_LINES = 500  # lines per sendall() of the sender: one time stamp each
WINDOW = 5000  # lines the sender may be ahead of the slowest reading client
STALL = 0.1  # seconds: a wait of the sender longer than this counts as being blocked
AFTER_BURST = 8.0  # seconds to wait for the slow readers' leave notices after the burst
END = b"end of burst"


@dataclass
class Figures:
    """What one run measured."""

    slow: int
    readers: int
    lines: int
    seconds: float = 0.0  # first line sent to the last reader's last line
    delays: list[float] = field(default_factory=list)  # seconds, stamp to receipt
    max_gap: float = 0.0  # longest silence between two lines at a reading client
    longest_stall: float = 0.0  # the sender's longest wait (for the window, or in sendall)
    stalled: float = 0.0  # the sum of the sender's waits longer than STALL
    lost: int = 0  # lines some reading client never got, summed over the readers
    out_of_order: int = 0
    cut_during_burst: int = 0  # slow readers announced as leaving before the end marker
    cut: int = 0  # ... and by AFTER_BURST seconds later
    cut_at: list[float] = field(default_factory=list)  # seconds from the first line sent

    def percentile(self, share: float) -> float:
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class Server:
    """``server.py --port 0`` as a child process in its own process group."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", path.name, "--host", "127.0.0.1", "--port", "0"],
            cwd=path.parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        assert self.proc.stdout is not None
        match = LISTENING.match(self.proc.stdout.readline().strip())
        if not match:
            self.stop()
            raise RuntimeError(f"{path} did not print its port")
        self.port = int(match[1])
        # Keep reading the log so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            os.killpg(self.proc.pid, signum)
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                continue
        self.proc.wait()


def connect(port: int, nick: str, rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30.0)
    sock.connect(("127.0.0.1", port))
    sock.sendall(nick.encode() + b"\n")
    return sock


class Setup:
    """Reads the notices of the setup phase; keeps what came after the one waited for."""

    def __init__(self) -> None:
        self.pending: dict[socket.socket, bytes] = {}

    def read_until(self, sock: socket.socket, wanted: bytes) -> None:
        data = self.pending.get(sock, b"")
        while (cut := data.find(wanted + b"\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before {wanted!r}")
            data += chunk
        self.pending[sock] = data[cut + len(wanted) + 1 :]


class Reader(threading.Thread):
    """A client that reads everything and notes when each of the sender's lines came."""

    def __init__(
        self, sock: socket.socket, pending: bytes, figures: Figures, progress: threading.Condition
    ) -> None:
        super().__init__(daemon=True)
        self.sock, self.pending, self.figures = sock, pending, figures
        self.progress = progress  # notified whenever ``next`` moved
        self.next = 0  # the sequence number expected next
        self.ended = threading.Event()
        self.left = 0
        self.left_during_burst = 0
        self.left_at: list[float] = []  # monotonic times of the slow readers' leave notices
        self.all_left = threading.Event()

    def run(self) -> None:
        prefix = b"sender: "
        pending = self.pending
        last = None
        try:
            while True:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    return
                now = time.monotonic()
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    if line.startswith(prefix):
                        if line[len(prefix):] == END:
                            self.ended.set()
                            continue
                        seq, stamp = line[len(prefix):].split()
                        if int(seq) != self.next:
                            self.figures.out_of_order += 1
                        self.next = int(seq) + 1
                        self.figures.delays.append(now - int(stamp) / 1e9)
                        if last is not None:
                            self.figures.max_gap = max(self.figures.max_gap, now - last)
                        last = now
                    elif line.startswith(b"*** slow") and line.endswith(b" left the chat"):
                        self.left += 1
                        self.left_during_burst += not self.ended.is_set()
                        self.left_at.append(now)
                        if self.left == self.figures.slow:
                            self.all_left.set()
                with self.progress:
                    self.progress.notify_all()
        except OSError:
            return
        finally:
            self.ended.set()  # the end marker, or the end of the connection
            with self.progress:
                self.progress.notify_all()


def run(path: Path, slow: int, readers: int, lines: int) -> Figures:
    figures = Figures(slow, readers, lines)
    server = Server(path)
    sockets: list[socket.socket] = []
    setup = Setup()
    try:
        readers_ = []
        for index in range(readers):
            sock = connect(server.port, f"reader{index}")
            sockets.append(sock)
            setup.read_until(sock, f"*** welcome reader{index}".encode())
            readers_.append(sock)
        for index in range(slow):
            sockets.append(connect(server.port, f"slow{index}", rcvbuf=4096))
            for sock in readers_:  # the readers see it join: it is registered
                setup.read_until(sock, f"*** slow{index} joined the chat".encode())
        sender = connect(server.port, "sender")
        sockets.append(sender)
        setup.read_until(sender, b"*** welcome sender")
        for sock in readers_:
            setup.read_until(sock, b"*** sender joined the chat")
        progress = threading.Condition()
        threads = [
            Reader(sock, setup.pending.get(sock, b""), figures, progress) for sock in readers_
        ]
        for thread in threads:
            thread.start()

        def behind(first: int) -> bool:
            return any(t.next < first - WINDOW and not t.ended.is_set() for t in threads)

        started = time.monotonic()
        for first in range(0, lines, CHUNK_LINES):
            before = time.monotonic()
            with progress:
                progress.wait_for(lambda: not behind(first), timeout=120.0)  # noqa: B023
            stamp = b" %d\n" % time.monotonic_ns()
            last = min(lines, first + CHUNK_LINES)
            sender.sendall(b"".join(b"%d" % n + stamp for n in range(first, last)))
            took = time.monotonic() - before
            figures.longest_stall = max(figures.longest_stall, took)
            figures.stalled += took if took > STALL else 0.0
        sender.sendall(END + b"\n")
        for thread in threads:
            thread.ended.wait(120.0)
        figures.seconds = time.monotonic() - started
        for thread in threads:
            figures.lost += lines - thread.next if thread.ended.is_set() else lines
            if slow:
                thread.all_left.wait(max(0.0, started + figures.seconds + AFTER_BURST
                                         - time.monotonic()))
        figures.cut_during_burst = min(thread.left_during_burst for thread in threads)
        figures.cut = min(thread.left for thread in threads)
        figures.cut_at = [moment - started for moment in threads[0].left_at]
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
    return figures


def report(label: str, f: Figures) -> str:
    when = f" (at {min(f.cut_at):.1f} to {max(f.cut_at):.1f} s)" if f.cut_at else ""
    return (
        f"{label}: {f.slow} slow readers, {f.readers} reading clients, a burst of"
        f" {f.lines:,} lines\n"
        f"  burst delivered in {f.seconds:.2f} s;"
        f" line delay p50 {f.percentile(0.5) * 1e3:.0f} ms, p99 {f.percentile(0.99) * 1e3:.0f}"
        f" ms, max {max(f.delays, default=0) * 1e3:.0f} ms\n"
        f"  longest silence at a reading client {f.max_gap * 1e3:.0f} ms\n"
        f"  sender blocked: {f.stalled:.2f} s in waits over {STALL * 1e3:.0f} ms,"
        f" longest {f.longest_stall * 1e3:.0f} ms\n"
        f"  slow readers cut off: {f.cut_during_burst} during the burst, {f.cut} of {f.slow}"
        f" within {AFTER_BURST:.0f} s after it{when}\n"
        f"  lines lost by reading clients: {f.lost}   out of order: {f.out_of_order}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=10, help="clients that never read")
    parser.add_argument("--readers", type=int, default=3, help="clients that read everything")
    parser.add_argument("--lines", type=int, default=150_000, help="lines in the burst")
    parser.add_argument("--server", type=Path, default=SERVER, help="the server.py to run")
    args = parser.parse_args(argv)
    path = args.server.resolve()
    print(f"server: {path}", flush=True)
    print(report("with slow readers", run(path, args.slow, args.readers, args.lines)), flush=True)
    print(report("baseline", run(path, 0, args.readers, args.lines)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
