"""Measure the reference chat server under load and print the figures.

    python scripts/stress_reference.py [--clients 500] [--cycles 1000]

1. *Clients held*: N clients connect and register at once, one broadcasts a line and
   every other one must receive it; time taken, and the server's threads, descriptors
   and memory (RSS) while it holds them all.
2. *Cycles*: connect, register, ``/quit``, close, one after another; time taken, and
   threads/descriptors/RSS of the server before and after (once back at rest).

The server runs as a child process (``reference_solution/server.py --port 0``); its
standard output is drained by a thread so that its log never blocks it.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
TIMEOUT = 60.0  # seconds any single wait may take before the run is declared failed


@dataclass
class Usage:
    """What the server process holds at one moment."""

    threads: int
    fds: int
    rss_mb: float

    def __str__(self) -> str:
        return f"{self.threads} threads, {self.fds} fds, {self.rss_mb:.1f} MB RSS"


class Server:
    """The reference server as a child process in its own process group."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "server.py", "--host", "127.0.0.1", "--port", "0"],
            cwd=REFERENCE,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.match(r"listening on \S+:(\d+)$", first.strip())
        if not match:
            self.stop()
            raise SystemExit(f"server did not start: {first!r}")
        self.port = int(match[1])
        self.process = psutil.Process(self.proc.pid)
        self.log_lines = 0
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            self.log_lines += 1

    def usage(self) -> Usage:
        return Usage(
            self.process.num_threads(),
            self.process.num_fds(),
            self.process.memory_info().rss / 2**20,
        )

    def wait_for_threads(self, threads: int, deadline: float = TIMEOUT) -> float:
        """Poll until the server is back to ``threads`` threads; seconds it took."""
        start = time.monotonic()
        while self.process.num_threads() > threads:
            if time.monotonic() - start > deadline:
                raise SystemExit(f"threads never returned to {threads}: {self.usage()}")
            time.sleep(0.05)
        return time.monotonic() - start

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Client:
    """A blocking socket that reads whole lines with a timeout."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.pending = b""

    def send(self, line: str) -> None:
        self.sock.sendall((line + "\n").encode())

    def read_until(self, wanted: str) -> None:
        target = wanted.encode()
        while True:
            while b"\n" not in self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise SystemExit(f"connection closed while waiting for {wanted!r}")
                self.pending += chunk
            line, _, self.pending = self.pending.partition(b"\n")
            if line == target:
                return

    def close(self) -> None:
        self.sock.close()


def report(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def hold_clients(server: Server, count: int) -> None:
    """N clients at once, one broadcast; print times and the server's usage."""
    before = server.usage()
    start = time.monotonic()
    clients = [Client(server.port) for _ in range(count)]
    connected = time.monotonic()
    for number, client in enumerate(clients):
        client.send(f"c{number:04d}")
    for number, client in enumerate(clients):
        client.read_until(f"*** welcome c{number:04d}")
    registered = time.monotonic()
    # After its welcome a client is a member, so the broadcast reaches all of them.
    clients[0].send("hello everybody")
    for client in clients[1:]:
        client.read_until("c0000: hello everybody")
    delivered = time.monotonic()
    held = server.usage()
    for client in clients:
        client.send("/quit")
    for client in clients:
        client.close()
    settle = server.wait_for_threads(before.threads)
    after = server.usage()
    rows = [
        ("connect", f"{connected - start:.2f} s"),
        ("register (all welcomed)", f"{registered - connected:.2f} s"),
        (f"one broadcast reaches {count - 1}", f"{delivered - registered:.2f} s"),
        ("total", f"{delivered - start:.2f} s"),
        ("server idle before", str(before)),
        (f"server holding {count}", str(held)),
        ("memory per client", f"{(held.rss_mb - before.rss_mb) * 1024 / count:.0f} KB"),
        ("server after all left", f"{after} (threads at baseline after {settle:.2f} s)"),
    ]
    print(f"clients held at once: {count} (all registered, all got the broadcast)")
    report(rows)


def cycle_clients(server: Server, cycles: int) -> None:
    """Connect, register, /quit and close, ``cycles`` times in a row."""
    before = server.usage()
    start = time.monotonic()
    for number in range(cycles):
        client = Client(server.port)
        client.send(f"cycle{number}")
        client.read_until(f"*** welcome cycle{number}")
        client.send("/quit")
        client.close()
    elapsed = time.monotonic() - start
    settle = server.wait_for_threads(before.threads)
    deadline = time.monotonic() + TIMEOUT
    while server.usage().fds > before.fds and time.monotonic() < deadline:
        time.sleep(0.05)
    after = server.usage()
    print(f"connect/register/quit cycles: {cycles}")
    report(
        [
            ("time", f"{elapsed:.2f} s ({cycles / elapsed:.0f} cycles/s)"),
            ("server before", str(before)),
            ("server after", f"{after} (threads at baseline after {settle:.2f} s)"),
            ("threads/fds left over", f"{after.threads - before.threads}/{after.fds - before.fds}"),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500, help="clients held at once")
    parser.add_argument("--cycles", type=int, default=1000, help="connect/disconnect cycles")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.clients + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 100), hard))
    somaxconn = Path("/proc/sys/net/core/somaxconn")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, ulimit -n {soft}/{hard}, "
          f"somaxconn {somaxconn.read_text().strip() if somaxconn.exists() else '?'}")
    server = Server()
    try:
        hold_clients(server, args.clients)
        cycle_clients(server, args.cycles)
    finally:
        server.stop()
    print(f"server log lines: {server.log_lines}, exit status {server.proc.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
