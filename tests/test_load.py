"""The load generator counts right: against the reference server nothing is lost, and
against a server that drops or repeats lines the loss and the duplicates are seen."""

from __future__ import annotations

import argparse
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.tools.load import LoadRun, add_load_parser, percentile, run_load

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "reference_solution" / "server.py"


# Every process a test here starts must be gone when it ends (fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("no_process_left")


def test_ten_clients_get_every_line_exactly_once() -> None:
    result = run_load(clients=10, senders=3, lines=20, rate=0, timeout=60.0, spawn=SERVER)
    assert result.expected == 3 * 20 * 9
    assert result.delivered == result.expected
    assert (result.lost, result.duplicated, result.out_of_order, result.unexpected) == (0, 0, 0, 0)
    assert result.ok and not result.timed_out
    assert 0 < result.p50 <= result.p99 <= result.max
    assert len(result.latencies) == result.delivered


class FaultyServer:
    """A tiny broadcast server that repeats some lines and drops others, on purpose."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[tuple[socket.socket, str]] = []
        self.lock = threading.Lock()
        self.count = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        nick = reader.readline().decode().strip()
        with self.lock:
            sock.sendall(f"*** welcome {nick}\n".encode())
            self.clients.append((sock, nick))
        for raw in reader:
            with self.lock:
                self.count += 1
                copies = 0 if self.count % 7 == 0 else 2 if self.count % 5 == 0 else 1
                line = f"{nick}: ".encode() + raw
                for other, _ in self.clients:
                    if other is not sock:
                        for _ in range(copies):
                            other.sendall(line)

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for sock, _ in self.clients:
                sock.close()


@pytest.fixture
def faulty() -> Iterator[FaultyServer]:
    server = FaultyServer()
    yield server
    server.close()


def test_losses_and_duplicates_are_counted(faulty: FaultyServer) -> None:
    # A lost end marker would leave the run waiting for it: the timeout ends it.
    result = LoadRun("127.0.0.1", faulty.port, clients=4, senders=2, lines=30, rate=0,
                     timeout=3.0).run()
    assert result.lost > 0
    assert result.duplicated > 0
    assert not result.ok


def test_load_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_load_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["load", "--spawn", str(SERVER), "--clients", "5",
                              "--senders", "2", "--lines", "5", "--json"])
    assert args.func(args) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["delivered"] == figures["expected"] == 2 * 5 * 4
    assert figures["lost"] == 0


def test_only_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_load_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["load", "--host", "192.0.2.1", "--port", "5000"])
    assert args.func(args) == 2
    assert "loopback" in capsys.readouterr().err


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) == 0.0
