"""Chat server: an alternative correct implementation, used to test the grader.

A single thread drives every socket through ``selectors``. Each connection keeps an
input buffer (bytes not yet cut into lines) and an output buffer (bytes not yet
accepted by the kernel). A connection whose output buffer grows past a limit is a
client that stopped reading: it is dropped and announced as a leave.
"""

from __future__ import annotations

import argparse
import collections
import errno
import selectors
import signal
import socket
import sys
import time
import unicodedata

MAX_LINE = 4096
MAX_NICK = 20
MAX_OUTBUF = 4 << 20  # bytes waiting for a client that does not read
NICK_TIMEOUT = 60.0
NICK_EXTRA = "_-."
SHUTDOWN_FLUSH = 1.0
CLOSE_GRACE = 5.0  # seconds a closing client gets to read its last line


def log(text: str) -> None:
    try:
        print(text, flush=True)
    except (BrokenPipeError, OSError):
        pass


def make_visible(text: str) -> str:
    """Replace control characters (except tab) with a ``\\xNN`` escape."""
    out = []
    for ch in text:
        if ch != "\t" and unicodedata.category(ch) == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def nickname_problem(nick: str, taken: bool) -> str | None:
    if not nick:
        return "nickname must not be empty"
    if len(nick) > MAX_NICK:
        return f"nickname longer than {MAX_NICK} characters"
    if not all(ch.isalnum() or ch in NICK_EXTRA for ch in nick):
        return "nickname may only contain letters, digits, _ - ."
    if taken:
        return f"nickname {nick} is already taken"
    return None


class Conn:
    def __init__(self, sock: socket.socket, addr: tuple) -> None:
        self.sock = sock
        self.peer = f"{addr[0]}:{addr[1]}"
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.nick: str | None = None
        self.since = time.monotonic()
        self.closing = False  # no more input is read; close once outbuf is empty
        self.close_by = 0.0  # a closing client that does not read is cut off then
        self.gone = False


class ChatServer:
    def __init__(self, host: str, port: int, history: int) -> None:
        self.sel = selectors.DefaultSelector()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.conns: dict[socket.socket, Conn] = {}
        self.users: dict[str, Conn] = {}
        self.history: collections.deque[str] | None = (
            collections.deque(maxlen=history) if history > 0 else None
        )
        self.to_drop: list[Conn] = []
        self.stopping = False
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")

    # ----- output -------------------------------------------------------------

    def queue(self, conn: Conn, line: str) -> None:
        if conn.gone:
            return
        conn.outbuf += line.encode("utf-8") + b"\n"
        if len(conn.outbuf) > MAX_OUTBUF:
            conn.outbuf.clear()
            self.to_drop.append(conn)
            return
        self.flush(conn)

    def flush(self, conn: Conn) -> None:
        if conn.gone:
            return
        while conn.outbuf:
            try:
                sent = conn.sock.send(conn.outbuf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                conn.outbuf.clear()
                self.to_drop.append(conn)
                return
            del conn.outbuf[:sent]
        self.update_interest(conn)

    def update_interest(self, conn: Conn) -> None:
        if conn.gone:
            return
        events = 0
        if not conn.closing:
            events |= selectors.EVENT_READ
        if conn.outbuf:
            events |= selectors.EVENT_WRITE
        if events == 0:
            # Closing and everything sent: the connection is finished.
            self.to_drop.append(conn)
            return
        self.sel.modify(conn.sock, events, conn)

    def broadcast(self, line: str, skip: Conn | None = None) -> None:
        for other in list(self.users.values()):
            if other is not skip:
                self.queue(other, line)

    # ----- connection life ----------------------------------------------------

    def accept(self) -> None:
        while True:
            try:
                sock, addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                if exc.errno == errno.ECONNABORTED:
                    continue
                return
            sock.setblocking(False)
            conn = Conn(sock, addr)
            self.conns[sock] = conn
            self.sel.register(sock, selectors.EVENT_READ, conn)

    def drop(self, conn: Conn) -> None:
        """Forget a connection for good; announce the leave once if it had joined."""
        if conn.gone:
            return
        conn.gone = True
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        self.conns.pop(conn.sock, None)
        try:
            conn.sock.close()
        except OSError:
            pass
        if conn.nick is not None and self.users.get(conn.nick) is conn:
            del self.users[conn.nick]
            if not self.stopping:
                log(f"[leave] {conn.nick} {conn.peer}")
                self.broadcast(f"*** {conn.nick} left the chat")

    def finish(self, conn: Conn, last_line: str | None = None) -> None:
        """Stop reading from a client, send it a last line, then close it."""
        if conn.gone or conn.closing:
            return
        conn.closing = True
        conn.close_by = time.monotonic() + CLOSE_GRACE
        conn.inbuf.clear()
        if conn.nick is not None and self.users.get(conn.nick) is conn:
            # Leave now: nothing more reaches this client but its own last line.
            del self.users[conn.nick]
            log(f"[leave] {conn.nick} {conn.peer}")
            self.broadcast(f"*** {conn.nick} left the chat", skip=conn)
            conn.nick = None
        if last_line is not None:
            self.queue(conn, last_line)
        else:
            self.update_interest(conn)

    def process_drops(self) -> None:
        while self.to_drop:
            self.drop(self.to_drop.pop(0))

    # ----- input --------------------------------------------------------------

    def readable(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.to_drop.append(conn)
            return
        if not data:
            self.to_drop.append(conn)
            return
        conn.inbuf += data
        while not conn.closing and not conn.gone:
            cut = conn.inbuf.find(b"\n")
            if cut < 0:
                # A partial line may still end in "\r" once its "\n" comes.
                if len(conn.inbuf) > MAX_LINE + 1:
                    self.finish(conn, "*** error: line too long")
                return
            raw = bytes(conn.inbuf[:cut])
            del conn.inbuf[: cut + 1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > MAX_LINE:
                self.finish(conn, "*** error: line too long")
                return
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.queue(conn, "*** error: invalid UTF-8, line ignored")
                continue
            if conn.nick is None:
                self.register(conn, text)
            else:
                self.handle(conn, text)

    def register(self, conn: Conn, nick: str) -> None:
        problem = nickname_problem(nick, nick in self.users)
        if problem is not None:
            self.finish(conn, f"*** error: {problem}")
            return
        if self.history:
            for past in self.history:
                self.queue(conn, f"*** history {past}")
        self.queue(conn, f"*** welcome {nick}")
        conn.nick = nick
        self.users[nick] = conn
        log(f"[join] {nick} {conn.peer}")
        self.broadcast(f"*** {nick} joined the chat", skip=conn)

    def handle(self, conn: Conn, text: str) -> None:
        if not text:
            return
        if text.startswith("/"):
            self.command(conn, text)
            return
        line = f"{conn.nick}: {make_visible(text)}"
        if self.history is not None:
            self.history.append(line)
        self.broadcast(line, skip=conn)

    def command(self, conn: Conn, text: str) -> None:
        word, _, rest = text.partition(" ")
        if word == "/quit":
            self.finish(conn)
        elif word == "/users":
            self.queue(conn, "*** online: " + ", ".join(sorted(self.users)))
        elif word == "/w":
            target, _, message = rest.partition(" ")
            if not target or not message:
                self.queue(conn, "*** error: usage: /w <nick> <text>")
            elif target not in self.users:
                self.queue(conn, f"*** error: no such user {make_visible(target)}")
            else:
                self.queue(self.users[target], f"{conn.nick} (whisper): {make_visible(message)}")
        else:
            self.queue(conn, f"*** error: unknown command {make_visible(word)}")

    # ----- main loop ----------------------------------------------------------

    def expire_silent(self) -> None:
        now = time.monotonic()
        for conn in list(self.conns.values()):
            if conn.closing:
                if now > conn.close_by:
                    self.to_drop.append(conn)
            elif conn.nick is None and now - conn.since > NICK_TIMEOUT:
                self.finish(conn, "*** error: no nickname received")

    def request_stop(self, signum, frame) -> None:
        self.stopping = True
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    def serve(self) -> None:
        while not self.stopping:
            for key, mask in self.sel.select(timeout=1.0):
                if key.data is None:
                    self.accept()
                elif key.data == "wake":
                    try:
                        self.wake_r.recv(64)
                    except OSError:
                        pass
                else:
                    conn: Conn = key.data
                    if conn.gone:
                        continue
                    if mask & selectors.EVENT_WRITE:
                        self.flush(conn)
                    if mask & selectors.EVENT_READ and not conn.closing:
                        self.readable(conn)
                self.process_drops()
            self.expire_silent()
            self.process_drops()
        self.shutdown()

    def shutdown(self) -> None:
        try:
            self.sel.unregister(self.listener)
        except (KeyError, ValueError):
            pass
        self.listener.close()
        conns = [c for c in self.conns.values() if not c.gone]
        for conn in conns:
            conn.closing = True
            conn.outbuf += b"*** server shutting down\n"
        deadline = time.monotonic() + SHUTDOWN_FLUSH
        pending = [c for c in conns if c.outbuf]
        while pending and time.monotonic() < deadline:
            for conn in pending:
                try:
                    sent = conn.sock.send(conn.outbuf)
                    del conn.outbuf[:sent]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    conn.outbuf.clear()
            pending = [c for c in pending if c.outbuf]
            if pending:
                time.sleep(0.01)
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.sock.close()
        self.sel.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="chatlab server (selectors)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--history", type=int, default=0)
    args = parser.parse_args()

    try:
        server = ChatServer(args.host, args.port, max(0, args.history))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, server.request_stop)
    signal.signal(signal.SIGTERM, server.request_stop)
    host, port = server.listener.getsockname()[:2]
    log(f"listening on {host}:{port}")
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
