"""Chat client: python client.py --port 5000 --nick ana  (/quit or Ctrl-D leaves)."""
import argparse
import os
import socket
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=5000)
parser.add_argument("--nick", required=True)
args = parser.parse_args()

sock = socket.create_connection((args.host, args.port))
sock.sendall((args.nick + "\n").encode())
leaving = threading.Event()


def receive():
    try:
        for raw in sock.makefile("rb"):
            print(raw.decode("utf-8", "replace").rstrip("\n"), flush=True)
    except OSError:
        if leaving.is_set():
            return
        os._exit(1)
    if not leaving.is_set():
        print("Lost the connection to the server.", flush=True)
        os._exit(1)


threading.Thread(target=receive, daemon=True).start()
while True:
    try:
        line = input()
    except EOFError:
        line = "/quit"
    if line == "/quit":
        leaving.set()
    sock.sendall((line + "\n").encode())
    if leaving.is_set():
        break
sock.close()
