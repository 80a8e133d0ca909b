"""A threaded global chat server.

    python server.py [--host 127.0.0.1] [--port 5000] [--history N]

Every line a client types reaches every other connected client as ``nick: line``.
The wire protocol is in ``PROTOCOL.md``; this file is the network half, and
``protocol.py`` holds the pure text rules (framing, nicknames, the lines we write).

How it fits together::

    main thread                 one pair of threads per connection
    +--------------+  accept()  +----------------------------------+
    |  ChatServer  |----------->|  Connection                      |
    |  listening   |            |   reader: recv -> lines -> Room  |
    |  socket      |            |   writer: outbox -> sendall      |
    +--------------+            +----------------+-----------------+
                                                 | join / broadcast / leave
                                                 v
                                +----------------------------------+
                                |  Room: nick -> Connection, a lock |
                                +----------------------------------+

Why threads: with one thread per task, blocking calls (``accept``, ``recv``,
``sendall``) read in the same order as the protocol. The price is a thread stack per
client, which is fine for hundreds of clients; for tens of thousands one would use
``selectors`` or ``asyncio`` and a single thread.

Why *two* threads per connection: ``sendall`` blocks when the receiver stops reading.
If the thread that broadcasts a line also sent it, one client that never reads would
freeze whoever talks to it. So broadcasting only *queues* lines (which never blocks),
and each connection's own writer thread does the sending. A queue that overflows means
that client is not reading: we disconnect it instead of letting it eat memory.
"""

from __future__ import annotations

import argparse
import queue
import signal
import socket
import sys
import threading
import time
from collections import deque

from protocol import (
    INVALID_UTF8,
    LINE_TOO_LONG,
    SHUTDOWN_LINE,
    WHISPER_USAGE,
    LineBuffer,
    LineTooLong,
    chat_line,
    decode_line,
    encode_line,
    error_line,
    history_line,
    joined_line,
    left_line,
    nickname_error,
    printable,
    users_line,
    welcome_line,
    whisper_line,
)

RECV_BYTES = 4096
OUTBOX_LINES = 1000  # lines queued for one client before senders have to wait
SLOW_READER_SECONDS = 2.0  # a client that takes no line for this long is not reading
MAX_HISTORY = 500  # fewer than OUTBOX_LINES, so replaying history never has to wait
NICK_TIMEOUT = 60.0  # seconds a new connection may take to send its nickname
WRITER_GRACE = 2.0  # seconds we wait for a leaving client's last lines to go out
LINGER_SECONDS = 1.0  # see Connection.linger
LINGER_BYTES = 2 * 1024 * 1024
MAX_CONNECTIONS = 1000

_CLOSE = object()  # put in an outbox to tell its writer thread to finish

_print_lock = threading.Lock()


def log(line: str) -> None:
    """Print one line of the server log; a lock keeps lines from different threads whole."""
    with _print_lock:
        try:
            print(line, flush=True)
        except (OSError, ValueError):
            pass  # nobody is reading our output any more; serving clients matters more


def format_address(address: tuple) -> str:
    host, port = address[0], address[1]
    return f"{host}:{port}"


class Room:
    """The set of registered clients, and the only place that changes it.

    Many reader threads join, leave and broadcast at the same time, so every access to
    ``_members`` holds ``_lock``. While holding it we only read and change the dict and
    *queue* lines (which never blocks): we never do network I/O under the lock, or one
    slow socket would hold up every thread in the server.
    """

    def __init__(self, history_size: int = 0) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, Connection] = {}
        self._history: deque[tuple[str, str]] = deque(maxlen=max(history_size, 0))
        self._history_on = history_size > 0

    def join(self, newcomer: Connection, nick: str) -> str | None:
        """Register ``newcomer`` as ``nick``; return an error reason if the nick is taken."""
        # TODO(step 04): registre quem chegou: boas-vindas, adicionar, log, anunciar. Veja notebooks/pt_BR/04_broadcast.ipynb.
        raise NotImplementedError('step 04: registre quem chegou: boas-vindas, adicionar, log, anunciar (veja notebooks/pt_BR/04_broadcast.ipynb)')

    def broadcast(self, sender: Connection, text: str) -> None:
        """Send a chat line from ``sender`` to everybody else."""
        # TODO(step 04): envie 'nick: text' a todos os outros membros. Veja notebooks/pt_BR/04_broadcast.ipynb.
        raise NotImplementedError("step 04: envie 'nick: text' a todos os outros membros (veja notebooks/pt_BR/04_broadcast.ipynb)")

    def leave(self, member: Connection) -> None:
        """Remove ``member`` and announce it; safe to call more than once."""
        # TODO(step 04): remova o membro uma única vez, registre no log e avise os outros. Veja notebooks/pt_BR/04_broadcast.ipynb.
        raise NotImplementedError('step 04: remova o membro uma única vez, registre no log e avise os outros (veja notebooks/pt_BR/04_broadcast.ipynb)')

    def whisper(self, sender: Connection, nick: str, text: str) -> bool:
        """Send ``text`` to ``nick`` only; False if there is no such member."""
        with self._lock:
            receiver = self._members.get(nick)
        if receiver is None:
            return False
        receiver.send(whisper_line(sender.nick, text))
        return True

    def nicks(self) -> list[str]:
        with self._lock:
            return list(self._members)

    def close(self) -> list[Connection]:
        """Empty the room for shutdown; return who was in it. Nobody is announced."""
        with self._lock:
            members = list(self._members.values())
            self._members.clear()
        return members

    def _replay_history(self, newcomer: Connection) -> None:
        # TODO(step 07): com --history, reenvie as linhas guardadas, marcadas. Veja notebooks/pt_BR/07_extensions.ipynb.
        pass  # history is an extension; nothing is replayed until you write it

    def _remember(self, nick: str, text: str) -> None:
        # TODO(step 07): com --history, guarde as últimas N linhas do chat. Veja notebooks/pt_BR/07_extensions.ipynb.
        pass


class Connection:
    """One client: a socket, a reader thread (this object's ``run``) and a writer thread."""

    def __init__(self, server: ChatServer, sock: socket.socket, address: tuple) -> None:
        self.server = server
        self.room = server.room
        self.sock = sock
        self.address = address
        self.nick = ""
        self.outbox: queue.Queue = queue.Queue(maxsize=OUTBOX_LINES)
        self.broken = threading.Event()  # set once the connection has been cut off
        self.writer = threading.Thread(
            target=self._write_forever, name=f"writer {format_address(address)}", daemon=True
        )

    # -- the reader thread ---------------------------------------------------------

    def run(self) -> None:
        """Serve this client until it leaves, then free everything it held."""
        self.writer.start()
        joined = False
        # A client that connects and never sends its nickname must not hold a thread
        # forever: a watchdog timer cuts it off unless it registers in time.
        watchdog = threading.Timer(self.server.nick_timeout, self.nickname_too_late)
        watchdog.daemon = True
        watchdog.start()
        try:
            lines = self.receive_lines()
            nick = self.receive_nickname(lines)
            watchdog.cancel()
            if nick is not None:
                joined = self.register(nick)
            if joined:
                for line in lines:
                    if not self.handle_line(line):
                        break
        except LineTooLong:
            self.send(error_line(LINE_TOO_LONG))
        except OSError:
            # ConnectionResetError, BrokenPipeError and TimeoutError are all OSErrors.
            # A connection that breaks is simply a client leaving, not a server error.
            pass
        finally:
            watchdog.cancel()
            if joined:
                self.room.leave(self)
            self.close()

    def receive_lines(self):
        """Yield each complete line the client sends, as bytes, until it closes."""
        buffer = LineBuffer()
        while True:
            chunk = self.sock.recv(RECV_BYTES)
            if not chunk:  # b"" means the client closed its end
                return
            yield from buffer.feed(chunk)

    def receive_nickname(self, lines) -> str | None:
        """Read the first line; return it, or None if the client left first."""
        first = next(lines, None)
        if first is None:
            return None
        nick = decode_line(first)
        if nick is None:
            self.send(error_line("nickname is not valid UTF-8"))
            return None
        return nick

    def nickname_too_late(self) -> None:
        """Runs in the watchdog's thread when no nickname came in time."""
        self.send(error_line("no nickname received in time"))
        try:
            # Shutting down the reading side wakes the reader thread out of recv() as
            # if the client had closed; it then ends the connection normally.
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def register(self, nick: str) -> bool:
        """Validate ``nick`` and join the room; on failure tell the client why."""
        reason = nickname_error(nick)
        if reason is None:
            reason = self.room.join(self, nick)
        if reason is not None:
            self.send(error_line(reason))
            return False
        return True

    def handle_line(self, raw: bytes) -> bool:
        """Act on one line from a registered client; False when the client is done."""
        text = decode_line(raw)
        if text is None:
            self.send(error_line(INVALID_UTF8))
            return True
        if not text:
            return True
        if text.startswith("/"):
            return self.handle_command(text)
        self.room.broadcast(self, printable(text))
        return True

    def handle_command(self, text: str) -> bool:
        """Run a /command; False for /quit."""
        word, _, rest = text.partition(" ")
        if word == "/quit":
            return False
        # TODO(step 07): /users e /w <nick> <text>. Veja notebooks/pt_BR/07_extensions.ipynb.
        self.send(error_line(f"unknown command {printable(word)}"))
        return True

    # -- sending: any thread may call send(); only the writer thread touches sendall ------

    def send(self, line: str) -> None:
        """Queue one line for this client; cut the client off if it is not reading."""
        # TODO(step 06): ponha a linha na fila; desconecte o cliente que parar de ler. Veja notebooks/pt_BR/06_robustness.ipynb.
        self.sock.sendall(encode_line(line))  # blocks while the client is not reading

    def send_last(self, line: str) -> None:
        """Queue a final line and the end of the conversation, without ever waiting."""
        try:
            self.outbox.put_nowait(encode_line(line))
            self.outbox.put_nowait(_CLOSE)
        except queue.Full:
            self.abort()

    def _write_forever(self) -> None:
        while True:
            data = self.outbox.get()
            if data is _CLOSE:
                break
            try:
                self.sock.sendall(data)
            except OSError:
                self.abort()
                return
        try:
            # Half-close: the client reads our last lines, then end-of-file.
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- ending --------------------------------------------------------------------------

    def abort(self) -> None:
        """Break the connection now; both threads wake up and finish."""
        self.broken.set()
        try:
            # shutdown(), not close(): close() would not wake a thread blocked in recv().
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Let the writer send what is queued, then release the socket."""
        try:
            self.outbox.put_nowait(_CLOSE)
        except queue.Full:
            self.abort()
        self.writer.join(WRITER_GRACE)
        if self.writer.is_alive():  # the client stopped reading; do not wait for it
            self.abort()
            self.writer.join()
        self.linger()
        self.sock.close()
        self.server.forget(self)

    def linger(self) -> None:
        """Read and discard what the client still sends, for a moment, before closing.

        Closing a socket that has unread incoming data makes the kernel send a reset
        instead of a normal close, and a reset can destroy our last line (say,
        ``*** error: line too long``) before the client reads it. Draining first lets
        that line arrive.
        """
        self.sock.settimeout(LINGER_SECONDS)
        drained = 0
        try:
            while drained < LINGER_BYTES:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass


class ChatServer:
    """Owns the listening socket and the room; starts a Connection per client."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        history: int = 0,
        nick_timeout: float = NICK_TIMEOUT,
    ) -> None:
        self.room = Room(history)
        self.nick_timeout = nick_timeout
        self.listener = open_listener(host, port)
        # With port 0 the system picked a free port: ask the socket which one.
        self.address = self.listener.getsockname()
        self._connections: set[Connection] = set()
        self._connections_lock = threading.Lock()
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        """Accept clients until shutdown() is called."""
        # TODO(step 03): aceite clientes para sempre, uma thread para cada um. Veja notebooks/pt_BR/03_threads.ipynb.
        while True:  # one client at a time: the next one waits until this one leaves
            sock, address = self.listener.accept()
            connection = self.admit(sock, address)
            if connection is not None:
                connection.run()

    def admit(self, sock: socket.socket, address: tuple) -> Connection | None:
        """A Connection for a newly accepted socket, or None if the server is full."""
        with self._connections_lock:
            if len(self._connections) < MAX_CONNECTIONS:
                connection = Connection(self, sock, address)
                self._connections.add(connection)
                return connection
        # Each client costs two threads and a descriptor: refuse rather than fall over.
        try:
            sock.sendall(encode_line(error_line("server full, try again later")))
        except OSError:
            pass
        sock.close()
        return None

    def forget(self, connection: Connection) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def connection_count(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def shutdown(self) -> None:
        """Stop accepting, tell every client we are going, and let their writers flush."""
        self.stopping.set()
        try:
            # close() alone does not wake a thread blocked in accept(); shutdown() does.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        members = self.room.close()
        for member in members:
            member.send_last(SHUTDOWN_LINE)
        # One deadline for everybody: a stuck client must not delay the others' goodbyes.
        deadline = time.monotonic() + WRITER_GRACE
        for member in members:
            member.writer.join(max(0.0, deadline - time.monotonic()))


def open_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (IPv4 or IPv6, whichever host is)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # reuse_port=False, but create_server sets SO_REUSEADDR so a restarted server can
    # bind again at once instead of waiting for old connections to time out.
    return socket.create_server((host, port), family=family, backlog=128)


def raise_descriptor_limit() -> None:
    """Allow as many open sockets as the system lets us (often 1024 by default)."""
    try:
        import resource
    except ImportError:  # Windows has no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A threaded global chat server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help=f"replay the last N chat lines to newcomers (at most {MAX_HISTORY})",
    )
    parser.add_argument(
        "--nick-timeout",
        type=float,
        default=NICK_TIMEOUT,
        metavar="SECONDS",
        help="disconnect a client that sends no nickname for this long",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 0 <= args.history <= MAX_HISTORY:
        print(f"--history must be between 0 and {MAX_HISTORY}", file=sys.stderr)
        return 2
    raise_descriptor_limit()
    try:
        server = ChatServer(args.host, args.port, args.history, args.nick_timeout)
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    # SIGTERM (what `kill` and the grader send) should end us like Ctrl-C does. SIGINT
    # is set too because a parent (a shell's background job) may have told us to
    # ignore it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log(f"listening on {args.host}:{server.address[1]}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
