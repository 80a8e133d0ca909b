"""Chat server: an alternative correct implementation, used to test the grader.

Built on ``asyncio.start_server``: one coroutine per connection reads with its
StreamReader; everything it sends goes through a bounded per-client queue emptied by
a writer coroutine, so a client that stops reading only fills its own queue and is then
dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections import deque

LINE_LIMIT = 4096
NICK_LIMIT = 20
NICK_PUNCTUATION = frozenset("_-.")
QUEUE_BYTES = 4 << 20  # bytes waiting for one client before it counts as not reading
NICK_WAIT = 60.0
READ_SIZE = 65536


class LineTooLong(Exception):
    pass


def printable(text: str) -> str:
    """Show control characters (tab excepted) as ``\\xNN`` instead of sending them raw."""
    return "".join(
        f"\\x{ord(c):02x}" if (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F else c
        for c in text
    )


def check_nick(nick: str) -> str | None:
    """Return why ``nick`` is refused, or None when it is acceptable."""
    if nick == "":
        return "nickname must not be empty"
    if len(nick) > NICK_LIMIT:
        return f"nickname longer than {NICK_LIMIT} characters"
    for c in nick:
        if not (c.isalnum() or c in NICK_PUNCTUATION):
            return "nickname may only contain letters, digits, _ - ."
    return None


class LineReader:
    """Cuts a StreamReader's bytes into lines of at most LINE_LIMIT bytes."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.buf = bytearray()

    async def next_line(self) -> bytes | None:
        """The next line without its ending, or None at end of stream."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                if line[-1:] == b"\r":
                    line = line[:-1]
                if len(line) > LINE_LIMIT:
                    raise LineTooLong
                return line
            if len(self.buf) > LINE_LIMIT + 1:
                raise LineTooLong
            chunk = await self.reader.read(READ_SIZE)
            if not chunk:
                return None
            self.buf += chunk


class Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)  # None if already reset
        self.address = f"{peer[0]}:{peer[1]}"
        self.nick = ""
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.queued = 0  # bytes in the outbox
        self.overflowed = False
        self.pump = asyncio.create_task(self._pump())

    def send(self, line: str) -> None:
        if self.overflowed:
            return
        data = line.encode() + b"\n"
        self.queued += len(data)
        if self.queued > QUEUE_BYTES:
            # It stopped reading: cut it off; its reader then ends and it leaves.
            self.overflowed = True
            self.writer.transport.abort()
            return
        self.outbox.put_nowait(data)

    async def _pump(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await self.outbox.get()
                if data is None or self.writer.transport.is_closing():
                    break
                self.queued -= len(data)
                self.writer.write(data)
                await self.writer.drain()

    async def close(self, timeout: float = 1.0) -> None:
        """Send what is queued (within ``timeout``), then close the connection."""
        if not self.overflowed:
            self.outbox.put_nowait(None)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.pump), timeout)
        self.pump.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), timeout)


class Chat:
    def __init__(self, history: int) -> None:
        self.members: dict[str, Client] = {}
        self.connections: set[Client] = set()
        self.past: deque[str] = deque(maxlen=max(history, 0))
        self.closing = False

    def others(self, me: Client) -> list[Client]:
        return [c for c in self.members.values() if c is not me]

    def broadcast(self, line: str, me: Client) -> None:
        for c in self.others(me):
            c.send(line)

    async def serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        me = Client(writer)
        self.connections.add(me)
        try:
            await self.converse(me, LineReader(reader))
        except LineTooLong:
            me.send("*** error: line too long")
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.leave(me)
            self.connections.discard(me)
            if not self.closing:
                await me.close()

    def leave(self, me: Client) -> None:
        if me.nick and self.members.get(me.nick) is me:
            del self.members[me.nick]
            if not self.closing:
                print(f"[leave] {me.nick} {me.address}", flush=True)
                self.broadcast(f"*** {me.nick} left the chat", me)

    async def converse(self, me: Client, lines: LineReader) -> None:
        # Registration: the first valid UTF-8 line is the nickname.
        while True:
            try:
                raw = await asyncio.wait_for(lines.next_line(), NICK_WAIT)
            except TimeoutError:
                me.send("*** error: no nickname received")
                return
            if raw is None:
                return
            try:
                nick = raw.decode("utf-8")
            except UnicodeDecodeError:
                me.send("*** error: invalid UTF-8, line ignored")
                continue
            break
        problem = check_nick(nick)
        if problem is None and nick in self.members:
            problem = f"nickname {nick} is already taken"
        if problem is not None:
            me.send(f"*** error: {problem}")
            return
        for old in self.past:
            me.send(f"*** history {old}")
        me.send(f"*** welcome {nick}")
        me.nick = nick
        self.members[nick] = me
        print(f"[join] {nick} {me.address}", flush=True)
        self.broadcast(f"*** {nick} joined the chat", me)

        while True:
            raw = await lines.next_line()
            if raw is None:
                return
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                me.send("*** error: invalid UTF-8, line ignored")
                continue
            if text == "":
                continue
            if not text.startswith("/"):
                line = f"{nick}: {printable(text)}"
                if self.past.maxlen:
                    self.past.append(line)
                self.broadcast(line, me)
                continue
            parts = text.split(" ", 2)
            command = parts[0]
            if command == "/quit":
                return
            if command == "/users":
                me.send("*** online: " + ", ".join(sorted(self.members)))
            elif command == "/w":
                if len(parts) < 3 or not parts[1] or not parts[2]:
                    me.send("*** error: usage: /w <nick> <text>")
                elif parts[1] not in self.members:
                    me.send(f"*** error: no such user {printable(parts[1])}")
                else:
                    self.members[parts[1]].send(f"{nick} (whisper): {printable(parts[2])}")
            else:
                me.send(f"*** error: unknown command {printable(command)}")

    async def shut_down(self) -> None:
        self.closing = True
        everyone = list(self.connections)
        for c in everyone:
            c.send("*** server shutting down")
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)


async def run(host: str, port: int, history: int) -> int:
    chat = Chat(history)
    try:
        server = await asyncio.start_server(chat.serve_client, host, port)
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    async with server:
        await stop.wait()
        server.close()
        await chat.shut_down()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="chatlab server (asyncio)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--history", type=int, default=0)
    args = parser.parse_args()
    return asyncio.run(run(args.host, args.port, args.history))


if __name__ == "__main__":
    sys.exit(main())
