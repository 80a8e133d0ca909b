"""Shared fixtures: the reference modules, reference servers (as processes or in-process)
and raw-socket chat clients that are closed after each test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest
from chatpeer import DEADLINE, REFERENCE, Peer, ServerProcess, load_solution
from submissions import make_broken


def pytest_configure(config: pytest.Config) -> None:
    """Make the deliberately broken submissions (tests/submissions/broken_*) before
    tests are collected: they are made from the reference solution, not committed."""
    make_broken.ensure()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Attacks that only the jail stops are skipped, with the reason, where bubblewrap
    cannot make its namespaces (the grade then carries a note saying so)."""
    from grader.harness.isolation import bwrap_path

    if bwrap_path() is not None:
        return
    skip = pytest.mark.skip(reason="needs the jail: bubblewrap cannot run here")
    for item in items:
        if "needs_isolation" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def reference_modules() -> tuple[ModuleType, ModuleType]:
    """``(protocol, server)`` of reference_solution/, imported under unique names."""
    return load_solution(REFERENCE, "reference")


@pytest.fixture(scope="session")
def reference_protocol(reference_modules: tuple[ModuleType, ModuleType]) -> ModuleType:
    return reference_modules[0]


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``start_server("--history", "3")`` runs a reference server process.

    Every server started is stopped (its process group killed if need be) at teardown.
    """
    started: list[ServerProcess] = []

    def start(*args: str, folder: Path = REFERENCE, host: str = "127.0.0.1") -> ServerProcess:
        server = ServerProcess(folder, *args, host=host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A reference server process with default options."""
    return start_server()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ServerProcess]:
    """One reference server process for a whole test module (see ``clean_shared_server``)."""
    server = ServerProcess()
    yield server
    server.stop()


@pytest.fixture
def clean_shared_server(shared_server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's shared server, its room empty and its log fresh for this test.

    Starting a process per test costs most of the suite's time on a loaded machine;
    a module can opt in with ``@pytest.fixture def server(clean_shared_server): ...``.
    """
    if shared_server.proc.poll() is not None:
        pytest.fail(f"the shared server exited; stderr: {shared_server.stderr[-5:]}")
    shared_server.empty_room()
    yield shared_server


@pytest.fixture
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[..., Peer]]:
    """Factory: ``connect()`` a raw client to ``server``, or ``connect(other_server)``.

    ``connect(nick="ana")`` also registers it. All clients are closed at teardown.
    """
    peers: list[Peer] = []

    def make(target: Any = None, nick: str | None = None, **options: Any) -> Peer:
        target = target or request.getfixturevalue("server")
        peer = Peer(target.host, target.port, **options)
        peers.append(peer)
        if nick is not None:
            peer.register(nick)
        return peer

    yield make
    for peer in peers:
        peer.close()


class InProcessServer:
    """A reference ``ChatServer`` whose ``serve_forever`` runs in a thread of the test."""

    def __init__(self, server_module: ModuleType, **options: Any) -> None:
        self.chat = server_module.ChatServer("127.0.0.1", 0, **options)
        self.host = "127.0.0.1"
        self.port: int = self.chat.address[1]
        self.thread = threading.Thread(target=self.chat.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        # shutdown() only closes the listener, and on Linux closing a socket does not
        # wake a thread blocked in accept(); shutting the listener down does.
        try:
            self.chat.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.chat.shutdown()
        self.thread.join(DEADLINE)


@pytest.fixture
def inprocess_server(
    reference_modules: tuple[ModuleType, ModuleType],
) -> Iterator[Callable[..., InProcessServer]]:
    """Factory: ``inprocess_server(nick_timeout=0.5)`` serves in a thread until teardown."""
    started: list[InProcessServer] = []

    def start(**options: Any) -> InProcessServer:
        started.append(InProcessServer(reference_modules[1], **options))
        return started[-1]

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def join(connect: Callable[..., Peer]) -> Callable[..., list[Peer]]:
    """Factory: ``ana, bob = join("ana", "bob")`` registers clients one after another.

    Each earlier client reads the ``joined the chat`` line of each later one, so all of
    them start the test with nothing unread. ``join(..., server=other)`` picks the server.
    """

    def make(*nicks: str, server: Any = None) -> list[Peer]:
        peers: list[Peer] = []
        for nick in nicks:
            peer = connect(server, nick=nick)
            for earlier in peers:
                earlier.expect(f"*** {nick} joined the chat")
            peers.append(peer)
        return peers

    return make


@pytest.fixture
def no_process_left() -> Iterator[None]:
    """Every process a test starts is gone when it ends (found by parentage, not name)."""
    yield
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            pass
    assert alive == [], f"processes left behind: {alive}"


@pytest.fixture(autouse=True)
def _without_the_jail_where_asked(request: pytest.FixtureRequest,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The integrity tests not marked ``needs_isolation`` try the grader's own defences
    (results from memory, sealed results, the interpreter check) with the jail turned
    off: each layer is tested on its own, and the jail would stop the attack first."""
    if (request.module.__name__.startswith("test_integrity_")
            and "needs_isolation" not in request.keywords):
        monkeypatch.setenv("CHATLAB_ISOLATION", "off")


@pytest.fixture
def language(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The grader's language is English unless the test chooses another, whatever the
    machine's CHATLAB_LANG says; afterwards it is back to what it was."""
    from grader import i18n

    # Set, then removed: whatever the test sets is undone afterwards (set_language sets it).
    monkeypatch.setenv(i18n.ENV, "")
    monkeypatch.delenv(i18n.ENV)
    yield
    i18n.set_language(None)
