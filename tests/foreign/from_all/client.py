"""Chat client: python client.py [--host H] [--port P] [--nick NAME]; /EXIT leaves."""
import argparse
import os
import socket
import threading

leaving = threading.Event()  # set once the user has typed /EXIT


def receive(sock, name):
    try:
        for raw in sock.makefile("rb"):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == "USERNAME":
                sock.sendall((name + "\n").encode())
            else:
                print(line, flush=True)
        if leaving.is_set():
            return
        print("Disconnected.", flush=True)
    except OSError:
        if leaving.is_set():
            return
        print("Connection lost.", flush=True)
    os._exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--nick")
    args = parser.parse_args()
    name = args.nick or input("Username: ")
    sock = socket.create_connection((args.host, args.port))
    threading.Thread(target=receive, args=(sock, name), daemon=True).start()
    while True:
        try:
            line = input()
        except EOFError:
            line = "/EXIT"
        if line == "/EXIT":
            leaving.set()
        sock.sendall((line + "\n").encode())
        if leaving.is_set():
            break
    sock.close()


if __name__ == "__main__":
    main()
