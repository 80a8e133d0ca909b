"""Chat client: an alternative correct implementation, used to test the grader.

One thread waits on both standard input and the socket with ``selectors`` (POSIX:
standard input must be selectable, as a terminal, a pipe or a file is).
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys

STDIN = 0


def show(data: bytes) -> None:
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except (BrokenPipeError, OSError):
        pass


def send_all(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def server_gone(pending: bytes) -> int:
    if pending:
        show(pending + b"\n")
    show(b"*** disconnected from server\n")
    return 1


def run(host: str, port: int, nick: str | None) -> int:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as exc:
        show(f"*** cannot connect to {host}:{port}: {exc}\n".encode())
        return 1
    sock.settimeout(None)

    if nick is not None:
        if not send_all(sock, nick.encode("utf-8") + b"\n"):
            return server_gone(b"")
    else:
        show(b"Nickname: ")

    # poll(), unlike epoll, also accepts a regular file as standard input.
    sel = selectors.PollSelector()
    sel.register(sock, selectors.EVENT_READ, "net")
    sel.register(STDIN, selectors.EVENT_READ, "user")
    from_net = b""
    from_user = b""

    try:
        while True:
            for key, _ in sel.select():
                if key.data == "net":
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        return server_gone(from_net)
                    from_net += data
                    cut = from_net.rfind(b"\n")
                    if cut >= 0:
                        show(from_net[: cut + 1])
                        from_net = from_net[cut + 1 :]
                else:
                    data = os.read(STDIN, 65536)
                    if not data:
                        # End of input: send what was typed without a newline, then go.
                        if from_user:
                            send_all(sock, from_user + b"\n")
                        return 0
                    from_user += data
                    while b"\n" in from_user:
                        line, from_user = from_user.split(b"\n", 1)
                        if line.endswith(b"\r"):
                            line = line[:-1]
                        if not send_all(sock, line + b"\n"):
                            return server_gone(from_net)
                        if line == b"/quit":
                            return 0
    finally:
        sel.close()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="chatlab client (selectors)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--nick")
    args = parser.parse_args()
    try:
        return run(args.host, args.port, args.nick)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
