"""A chat client: one thread shows what the server sends, the main thread sends what you type.

    python client.py [--host 127.0.0.1] [--port 5000] [--nick NICK]

Why two threads: ``input()`` blocks until the user presses Enter, and ``recv()`` blocks
until the server sends something. A single thread doing both in turn would show other
people's lines only after you typed one of your own. So a *receiving thread* waits on
the socket and prints lines the moment they arrive, while the main thread waits on the
keyboard. The protocol is in ``PROTOCOL.md``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading

from protocol import LineBuffer, LineTooLong, encode_line, printable

RECV_BYTES = 4096
# A chat line is a nickname, ": " and up to 4096 bytes of text, in which the server
# may have written each control byte as four characters (\x1b): allow for all of it.
MAX_SERVER_LINE = 64 * 1024
CONNECT_TIMEOUT = 10.0
DISCONNECTED = "*** disconnected from server"


class ChatClient:
    """A connected chat session: send typed lines, print received ones."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # Set when *we* end the session, so the receiver knows the closed socket is
        # expected and must not report "disconnected from server".
        self.quitting = threading.Event()
        self.receiver = threading.Thread(target=self.receive_forever, daemon=True)

    def run(self, nick: str) -> int:
        """Chat until the user quits (0) or the server goes away (1)."""
        try:
            self.send(nick)
        except OSError:
            show(DISCONNECTED)
            return 1
        self.receiver.start()
        server_gone = self.type_forever()
        if server_gone:
            # The receiver noticed too and ends the program with status 1; give it a
            # moment to print what the server said last.
            self.receiver.join(1.0)
            return 1
        self.quitting.set()
        self.close()
        self.receiver.join(1.0)
        return 0

    def send(self, line: str) -> None:
        self.sock.sendall(encode_line(line))

    def type_forever(self) -> bool:
        """Send each line the user types; return True if the server went away meanwhile."""
        # TODO(step 05): envie cada linha digitada; pare com /quit ou no fim da entrada. Veja notebooks/pt_BR/05_client.ipynb.
        raise NotImplementedError('step 05: envie cada linha digitada; pare com /quit ou no fim da entrada (veja notebooks/pt_BR/05_client.ipynb)')

    def receive_forever(self) -> None:
        """Print every line from the server; end the program when the server goes away."""
        # TODO(step 05): mostre cada linha do servidor assim que ela chegar; saia com 1 quando ele fechar. Veja notebooks/pt_BR/05_client.ipynb.
        # Says so instead of raising: a second traceback, from this thread, would
        # mix with the one from type_forever() on the screen.
        show("*** (step 05: lines from the server are not shown yet;"
             " see notebooks/05_client.ipynb)")

    def close(self) -> None:
        try:
            # shutdown() wakes the receiving thread out of recv(); close() alone would not.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def show(text: str) -> None:
    """Print one line from the server at once, with control characters made visible."""
    print(printable(text), flush=True)


def ask_nickname() -> str | None:
    try:
        return input("Nickname: ").strip()
    except (EOFError, KeyboardInterrupt):
        return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Join the global chat.")
    parser.add_argument("--host", default="127.0.0.1", help="server address")
    parser.add_argument("--port", type=int, default=5000, help="server port")
    parser.add_argument("--nick", help="your nickname (asked for when missing)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ask before connecting: a connection that has not sent a nickname yet is one the
    # server counts against our address (PROTOCOL.md §2), and a whole classroom behind
    # one router shares an address while everybody is still typing a name.
    nick = args.nick if args.nick is not None else ask_nickname()
    if nick is None:
        return 0
    try:
        sock = socket.create_connection((args.host, args.port), timeout=CONNECT_TIMEOUT)
    except OSError as error:
        show(f"*** cannot connect to {args.host}:{args.port}: {error.strerror or error}")
        return 1
    sock.settimeout(None)  # the timeout was for connecting; reading may wait forever
    return ChatClient(sock).run(nick)


if __name__ == "__main__":
    sys.exit(main())
