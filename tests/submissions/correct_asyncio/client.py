"""Chat client: an alternative correct implementation, used to test the grader.

The main thread reads what the user types; a daemon thread prints every line the
server sends the moment it arrives. When the server goes away the receiving thread
ends the whole program, since the main thread may be blocked reading the keyboard.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading

print_lock = threading.Lock()
leaving = threading.Event()  # set when the user quits: a closed socket is then expected


def say(text: str) -> None:
    with print_lock:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except (OSError, ValueError):
            pass


def receive(sock: socket.socket) -> None:
    stream = sock.makefile("rb")
    try:
        for raw in stream:
            say(raw.decode("utf-8", errors="replace").rstrip("\r\n") + "\n")
    except (OSError, ValueError):
        pass
    if leaving.is_set():
        return
    say("*** disconnected from server\n")
    os._exit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description="chatlab client (threads)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--nick")
    args = parser.parse_args()
    # Bytes that are not UTF-8 go out as they were typed instead of crashing the client.
    sys.stdin.reconfigure(errors="surrogateescape")
    sys.stdout.reconfigure(errors="replace")

    try:
        sock = socket.create_connection((args.host, args.port), timeout=5)
    except OSError as exc:
        say(f"*** cannot connect to {args.host}:{args.port}: {exc}\n")
        return 1
    sock.settimeout(None)
    threading.Thread(target=receive, args=(sock,), daemon=True).start()

    nick = args.nick
    if nick is None:
        say("Nickname: ")
        answer = sys.stdin.readline()
        if not answer:
            leaving.set()
            sock.close()
            return 0
        nick = answer.rstrip("\r\n")

    try:
        sock.sendall(nick.encode("utf-8", errors="surrogateescape") + b"\n")
        for typed in sys.stdin:
            line = typed.rstrip("\r\n")
            if line == "/quit":
                leaving.set()
            sock.sendall(line.encode("utf-8", errors="surrogateescape") + b"\n")
            if leaving.is_set():
                break
    except OSError:
        # The receiving thread reports the lost server and ends the program.
        threading.Event().wait(2)
        say("*** disconnected from server\n")
        return 1
    except KeyboardInterrupt:
        pass
    leaving.set()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
