"""Client for the nick_token chat: ``python client.py HOST PORT NICK``."""

import os
import socket
import sys
import threading


def receive(sock: socket.socket) -> None:
    try:
        for raw in sock.makefile("rb"):
            print(raw.decode("utf-8", "replace").rstrip("\n"), flush=True)
    except OSError:
        pass
    os._exit(1)


def main() -> None:
    host, port, nick = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection((host, port))
    greeting = b""
    while not greeting.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            sys.exit(1)
        greeting += chunk
    sock.sendall(nick.encode() + b"\n")
    threading.Thread(target=receive, args=(sock,), daemon=True).start()
    try:
        while True:
            line = input()
            sock.sendall(line.encode() + b"\n")
            if line == "QUIT":
                break
    except EOFError:
        pass
    sock.close()


if __name__ == "__main__":
    main()
