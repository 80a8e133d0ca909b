"""The reference server under load and abuse: many clients, slow readers, resets, leaks."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from chatpeer import DEADLINE, barrier

LEAK_DEADLINE = 15.0  # seconds for threads and descriptors to return to their baseline


def wait_for_baseline(pid: int, threads: int, fds: int, deadline: float = LEAK_DEADLINE) -> None:
    """Poll the server process until it holds no more threads and descriptors than at start."""
    process = psutil.Process(pid)
    end = time.monotonic() + deadline
    while True:
        now = (process.num_threads(), process.num_fds())
        if now[0] <= threads and now[1] <= fds:
            return
        if time.monotonic() > end:
            raise AssertionError(f"threads/fds {now} never returned to baseline {(threads, fds)}")
        time.sleep(0.05)  # polling interval of a deadline-bounded wait, not a settle delay


def baseline(pid: int) -> tuple[int, int]:
    process = psutil.Process(pid)
    return process.num_threads(), process.num_fds()


@pytest.mark.parametrize(
    "count", [200, pytest.param(500, marks=pytest.mark.slow)], ids=lambda n: f"{n}-clients"
)
def test_many_clients_all_receive_a_broadcast(server, connect, reference_modules, count):
    # In waves: an address may only have so many connections that have not sent their
    # nickname yet, and a welcome comes after the server took the nickname.
    wave = reference_modules[1].MAX_UNNAMED_PER_ADDRESS // 2
    peers = []
    for first in range(0, count, wave):
        batch = [connect(timeout=30.0) for _ in range(first, min(count, first + wave))]
        for number, peer in enumerate(batch, first):
            peer.nick = f"p{number:03d}"
            peer.send(peer.nick)
        for peer in batch:
            peer.expect(f"*** welcome {peer.nick}")
        peers += batch
    # a client gets its welcome in the same step that makes it a member: all are members now
    peers[0].send("hello everybody")
    for peer in peers[1:]:
        skipped = peer.read_until("p000: hello everybody", timeout=30.0)
        assert all(line.endswith(" joined the chat") for line in skipped), skipped
    peers[-1].send("/users")
    # some "joined" notices may still trail the broadcast: they are sent after the join
    skipped = peers[-1].read_until("*** online: " + ", ".join(peer.nick for peer in peers))
    assert all(line.endswith(" joined the chat") for line in skipped), skipped


@pytest.mark.parametrize(
    "cycles", [300, pytest.param(1000, marks=pytest.mark.slow)], ids=lambda n: f"{n}-cycles"
)
def test_no_thread_or_descriptor_leak_after_many_cycles(server, connect, cycles):
    threads, fds = baseline(server.pid)
    watcher = connect(nick="watcher")
    for cycle in range(cycles):
        peer = connect()
        peer.register(f"c{cycle}")
        peer.send("/quit")
        assert peer.expect_eof() == []
        peer.close()
        watcher.expect(f"*** c{cycle} joined the chat")
        watcher.expect(f"*** c{cycle} left the chat")
    watcher.send("/quit")
    assert watcher.expect_eof() == []
    watcher.close()
    wait_for_baseline(server.pid, threads, fds)
    server.wait_for_output(lambda line: line.startswith("[leave] watcher "))
    assert len(server.log_lines("[leave]")) == cycles + 1


@pytest.mark.parametrize(
    "stage", ["before-nick", "mid-nick", "after-nick", "mid-line", "after-lines"]
)
def test_reset_at_every_stage(server, join, connect, stage):
    threads, fds = baseline(server.pid)
    ana, bob = join("ana", "bob")
    victim = connect()
    registered = stage not in ("before-nick", "mid-nick")
    if stage == "mid-nick":
        victim.send_raw("Jo\xe3".encode()[:3])  # cut inside the ã
    if registered:
        victim.register("victim")
        ana.expect("*** victim joined the chat")
        bob.expect("*** victim joined the chat")
    if stage == "mid-line":
        victim.send_raw("half a line é".encode()[:-1])
    if stage == "after-lines":
        victim.send(*[f"line {n}" for n in range(50)])
        for peer in (ana, bob):
            peer.expect_lines([f"victim: line {n}" for n in range(50)])
    victim.reset()
    if registered:
        ana.expect("*** victim left the chat")
        bob.expect("*** victim left the chat")
    barrier(bob, ana)  # no partial line, no second leave
    barrier(ana, bob)
    ana.send("/quit")
    assert ana.expect_eof() == []
    bob.expect("*** ana left the chat")
    bob.send("/quit")
    assert bob.expect_eof() == []
    ana.close()
    bob.close()
    wait_for_baseline(server.pid, threads, fds)


def test_killed_client_process_is_a_leave(server, join):
    (ana,) = join("ana")
    script = (
        "import socket, sys\n"
        f"s = socket.create_connection(('127.0.0.1', {server.port}), timeout=5)\n"
        "s.sendall(b'doomed\\n')\n"
        "assert s.recv(100).startswith(b'*** welcome doomed')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        ana.expect("*** doomed joined the chat")
        child.kill()
        child.wait(DEADLINE)
        ana.expect("*** doomed left the chat")
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            stream.close()


def test_client_that_stops_reading_is_dropped_and_others_lose_nothing(server, join, connect):
    slow = connect(rcvbuf=4096)  # a small window: the server's unsent lines pile up sooner
    slow.register("slow")
    talker, reader = join("talker", "reader")
    slow_left = "*** slow left the chat"
    text = "z" * 4000
    sent = 0
    dropped = False
    end = time.monotonic() + 60.0
    while not dropped:
        assert time.monotonic() < end, f"slow client not dropped after {sent} lines"
        # the reader keeps pace with the talker, as a person reading the chat would
        batch = [f"{n} {text}" for n in range(sent, sent + 20)]
        talker.send(*batch)
        sent += len(batch)
        for expected in batch:
            line = reader.read_line()
            if line == slow_left and not dropped:
                dropped = True
                line = reader.read_line()
            assert line == f"talker: {expected}", (line or "")[:80]
    talker.expect(slow_left)
    server.wait_for_output(lambda line: line.startswith("[leave] slow "))
    barrier(reader, talker)
    barrier(talker, reader)
    assert len(server.log_lines("[leave]")) == 1


def _wait_until_in_accept(thread: threading.Thread, deadline: float = DEADLINE) -> None:
    """Poll until the thread sleeps inside the kernel's accept() (Linux only)."""
    wchan = Path(f"/proc/self/task/{thread.native_id}/wchan")
    if not wchan.exists():
        pytest.skip("needs Linux /proc to see where a thread waits")
    end = time.monotonic() + deadline
    while wchan.read_text() != "inet_csk_accept":
        assert time.monotonic() < end, "serve_forever never blocked in accept()"
        time.sleep(0.01)


def test_shutdown_from_another_thread_ends_serve_forever(reference_modules):
    chat = reference_modules[1].ChatServer("127.0.0.1", 0)
    port = chat.address[1]
    thread = threading.Thread(target=chat.serve_forever, daemon=True)
    thread.start()
    try:
        _wait_until_in_accept(thread)
        chat.shutdown()
        thread.join(1.0)
        assert not thread.is_alive(), "serve_forever() still running 1 s after shutdown()"
    finally:
        if thread.is_alive():
            # The closed listener still waits in accept(): one connection releases it.
            with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE):
                pass
            thread.join(DEADLINE)


def test_nickname_dribbled_byte_by_byte_is_timed_out(inprocess_server, connect):
    server = inprocess_server(nick_timeout=0.5)
    slow = connect(server)
    end = time.monotonic() + 2.0
    closed = False
    while time.monotonic() < end and not closed:
        try:
            slow.send_raw(b"a")  # one byte of a nickname that never ends
            # The pace is the behaviour under test: 0.2 s between bytes, 0.5 s timeout.
            line = slow.read_line(timeout=0.2)
        except TimeoutError:
            continue
        except OSError:
            line = None
        closed = line is None or line.startswith("*** error: ")
    assert closed, "still connected 2 s after connecting, with a 0.5 s nickname timeout"


def test_newcomers_joining_during_a_stream_get_a_gapless_suffix(server, join, connect):
    """Each line is either before a newcomer's registration or delivered to it: no gap,
    no duplicate, no replay, while a talker streams and newcomers keep joining."""
    talker, observer = join("talker", "observer")
    total = 3000
    observed: list[str] = []

    def stream() -> None:
        # The observer keeps pace, so no queue grows beyond one batch.
        for start in range(0, total, 50):
            talker.send(*[f"n{n}" for n in range(start, start + 50)])
            observed.extend(observer.read_until(f"talker: n{start + 49}", timeout=30.0))
            observed.append(f"talker: n{start + 49}")

    streamer = threading.Thread(target=stream)
    streamer.start()
    newcomers = [connect(nick=f"new{index}") for index in range(8)]
    streamer.join(60)
    assert not streamer.is_alive()
    talker.send("done")
    observed.extend(observer.read_until("talker: done"))
    for peer, lines in [(observer, observed)] + [
        (newcomer, newcomer.read_until("talker: done", timeout=30.0)) for newcomer in newcomers
    ]:
        numbers = [int(line[len("talker: n") :]) for line in lines if line.startswith("talker: n")]
        first = numbers[0] if numbers else total
        assert numbers == list(range(first, total)), f"{peer!r}: gap or duplicate"
    assert observed.count("talker: n0") == 1


def test_burst_from_one_sender_does_not_drop_a_client_that_reads(server, join):
    talker, reader = join("talker", "reader")
    total = 20_000  # short lines: about 150 KB, far below what socket buffers hold
    sender = threading.Thread(target=talker.send, args=[f"m{n}" for n in range(total)])
    sender.start()
    try:
        for number in range(total):
            line = reader.read_line(timeout=30.0)
            assert line == f"talker: m{number}", f"line {number} of {total}: {line!r}"
    finally:
        sender.join(30)


def test_many_clients_leaving_at_once_are_each_announced_once(server, join, connect):
    (observer,) = join("observer")
    leavers = [connect(nick=f"x{index:02d}") for index in range(40)]
    observer.read_until("*** x39 joined the chat")
    for index, leaver in enumerate(leavers):
        if index % 2:
            leaver.reset()
        else:
            leaver.close()
    announced = []
    while len(announced) < 40:
        line = observer.read_line()
        assert line is not None
        if line.endswith(" left the chat"):
            announced.append(line)
    assert sorted(announced) == [f"*** x{index:02d} left the chat" for index in range(40)]
    late = connect(nick="late")
    observer.expect("*** late joined the chat")
    barrier(late, observer)
