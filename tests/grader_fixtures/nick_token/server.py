"""A chat in another course's style, graded with grader/profiles/nick_token.toml.

    python server.py PORT

The server sends ``NICK``, the client answers with its nickname; every line is relayed
to everyone, the sender included, as ``nick:text``; ``QUIT`` leaves. No announcements.
"""

import socket
import sys
import threading

clients: dict[socket.socket, str] = {}
lock = threading.Lock()


def relay(line: str) -> None:
    data = (line + "\n").encode()
    with lock:
        targets = list(clients)
    for sock in targets:
        try:
            sock.sendall(data)
        except OSError:
            pass


def serve(sock: socket.socket) -> None:
    nick = None
    try:
        sock.sendall(b"NICK\n")
        reader = sock.makefile("rb")
        nick = reader.readline().decode().strip()
        if not nick:
            return
        with lock:
            clients[sock] = nick
        for raw in reader:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text == "QUIT":
                break
            if text:
                relay(f"{nick}:{text}")
    except OSError:
        pass
    finally:
        with lock:
            clients.pop(sock, None)
        sock.close()


def main() -> None:
    listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    print("ready", flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
