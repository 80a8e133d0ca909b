"""Chat client: stdin lines go to the server, server lines to stdout (a reader thread)."""

import socket
import sys
import threading


def pump(conn):
    stream = conn.makefile("rb")
    for raw in stream:
        sys.stdout.write(raw.decode("utf-8", "replace"))
        sys.stdout.flush()
    print("*** connection closed", file=sys.stderr)
    sys.exit(1)


def main(argv):
    host, port, nick = argv[1], int(argv[2]), argv[3]
    conn = socket.create_connection((host, port))
    conn.sendall(nick.encode() + b"\n")
    threading.Thread(target=pump, args=(conn,), daemon=True).start()
    for typed in sys.stdin:
        conn.sendall(typed.encode("utf-8"))
        if typed.strip() == "/quit":
            break
    conn.close()


if __name__ == "__main__":
    main(sys.argv)
