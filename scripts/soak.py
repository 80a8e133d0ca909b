"""Soak test of a chat server: minutes of churn and chat, then look for leaks.

    python scripts/soak.py [--minutes 10] [--workers 8] [--server reference_solution/server.py]

Not part of the test suite (it takes minutes). Starts the server (sandboxed), keeps two
steady clients (a speaker numbering its lines, a listener checking each number arrives
once and in order), and runs ``--workers`` threads that each, over and over, connect,
register, chat a little and leave by ``/quit``, by closing, or by a TCP reset. Before
and after, with only the steady clients connected, it measures the server's threads,
open descriptors and resident memory, and prints a verdict:

- threads and descriptors must come back to the baseline exactly;
- resident memory may grow by at most ``--memory-slack`` (default 25 %, plus 4 MiB);
- the listener must have seen every numbered line once, in order;
- the server must still be running.
"""

from __future__ import annotations

import argparse
import random
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.tools.load import spawn_server  # noqa: E402

HOST = "127.0.0.1"
QUIET_TIMEOUT = 60.0  # seconds the server may take to free a departed client's threads


@dataclass
class Stats:
    connections: int = 0
    lines: int = 0
    leaves: dict[str, int] = field(default_factory=lambda: {"quit": 0, "close": 0, "reset": 0})
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Line:
    """A blocking line reader with a deadline on one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self, timeout: float = 10.0) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no line in time")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace")


def register(port: int, nick: str) -> tuple[socket.socket, Line]:
    sock = socket.create_connection((HOST, port), timeout=10.0)
    sock.sendall(f"{nick}\n".encode())
    reader = Line(sock)
    while (line := reader.read()) != f"*** welcome {nick}":
        if line is None or line.startswith("*** error"):
            raise ConnectionError(f"{nick}: {line}")
    return sock, reader


def churn(port: int, worker: int, stop: threading.Event, stats: Stats) -> None:
    rng = random.Random(worker)
    count = 0
    while not stop.is_set():
        count += 1
        nick = f"w{worker}_{count}"
        try:
            sock, _ = register(port, nick)
            lines = rng.randint(0, 5)
            sock.sendall("".join(f"churn {i} from {nick}\n" for i in range(lines)).encode())
            how = rng.choice(["quit", "close", "reset"])
            if how == "quit":
                sock.sendall(b"/quit\n")
                sock.settimeout(10.0)
                while sock.recv(65536):
                    pass
            elif how == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            with stats.lock:
                stats.connections += 1
                stats.lines += lines
                stats.leaves[how] += 1
        except OSError:
            with stats.lock:
                stats.errors += 1


def drain(reader: Line) -> None:
    try:
        while reader.read(timeout=3600.0) is not None:
            pass
    except OSError:
        pass


def snapshot(proc: psutil.Process) -> dict[str, int]:
    with proc.oneshot():
        return {"threads": proc.num_threads(), "fds": proc.num_fds(),
                "rss": proc.memory_info().rss}


def settle(proc: psutil.Process, threads: int) -> dict[str, int]:
    """Wait (with a deadline) until the server runs ``threads`` threads; measure then."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    while proc.num_threads() > threads and time.monotonic() < deadline:
        time.sleep(0.1)
    return snapshot(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--server", default=str(ROOT / "reference_solution" / "server.py"))
    parser.add_argument("--memory-slack", type=float, default=0.25, metavar="FRACTION")
    args = parser.parse_args(argv)

    server, port = spawn_server(args.server, HOST, clients=args.workers + 4)
    try:
        proc = psutil.Process(server.pid)
        speaker, speaker_lines = register(port, "speaker")
        listener, listen = register(port, "listener")
        # The speaker must read too (join/leave notices), or the server would rightly
        # cut it off as a client that stopped reading.
        threading.Thread(target=drain, args=(speaker_lines,), daemon=True).start()
        # Two steady clients: main thread + 2 threads each (the reference design).
        steady_threads = proc.num_threads()
        stats = Stats()

        def run_churn(seconds: float) -> None:
            stop = threading.Event()
            workers = [threading.Thread(target=churn, args=(port, i, stop, stats))
                       for i in range(args.workers)]
            for worker in workers:
                worker.start()
            stop.wait(seconds)
            stop.set()
            for worker in workers:
                worker.join(30.0)

        # Warm up: the first connections grow the interpreter's pools once and for all.
        run_churn(min(10.0, args.minutes * 6))
        baseline = settle(proc, steady_threads)
        print(f"baseline: {baseline}", flush=True)

        seq = 0
        problems: list[str] = []
        stop_chat = threading.Event()

        def chat() -> None:
            nonlocal seq
            while not stop_chat.is_set():
                speaker.sendall(f"n {seq}\n".encode())
                seq += 1
                stop_chat.wait(0.01)

        received = 0

        def listen_all() -> None:
            nonlocal received
            while True:
                line = listen.read(timeout=QUIET_TIMEOUT)
                if line is None:
                    problems.append("listener disconnected")
                    return
                if line.startswith("speaker: n "):
                    number = int(line.split()[-1])
                    if number != received:
                        problems.append(f"listener got line {number}, expected {received}")
                        return
                    received += 1
                elif line == "speaker: done":
                    return

        chatter = threading.Thread(target=chat)
        hearer = threading.Thread(target=listen_all)
        chatter.start()
        hearer.start()
        began = time.monotonic()
        run_churn(args.minutes * 60)
        stop_chat.set()
        chatter.join()
        speaker.sendall(b"done\n")
        hearer.join(QUIET_TIMEOUT)
        elapsed = time.monotonic() - began
        after = settle(proc, steady_threads)

        alive = server.poll() is None
        if not alive:
            problems.append(f"server exited with status {server.poll()}")
        if received != seq:
            problems.append(f"listener saw {received} of {seq} numbered lines")
        for key in ("threads", "fds"):
            if after[key] != baseline[key]:
                problems.append(f"{key}: {baseline[key]} before, {after[key]} after")
        limit = baseline["rss"] * (1 + args.memory_slack) + 4 * 1024 * 1024
        if after["rss"] > limit:
            problems.append(f"memory grew from {baseline['rss'] >> 20} MiB to"
                            f" {after['rss'] >> 20} MiB")

        print(f"after:    {after}")
        print(f"{elapsed:.0f} s of churn: {stats.connections} connections"
              f" ({stats.leaves}), {stats.lines} churn lines, {stats.errors} errors;"
              f" {seq} numbered lines, {received} received in order")
        rss_change = (after["rss"] - baseline["rss"]) / baseline["rss"] * 100
        print(f"threads {baseline['threads']} -> {after['threads']}, descriptors"
              f" {baseline['fds']} -> {after['fds']}, memory {baseline['rss'] / 2**20:.1f}"
              f" -> {after['rss'] / 2**20:.1f} MiB ({rss_change:+.1f} %)")
        print("VERDICT: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
        speaker.close()
        listener.close()
        return 0 if not problems else 1
    finally:
        server.stop(grace=5.0)


if __name__ == "__main__":
    sys.exit(main())
