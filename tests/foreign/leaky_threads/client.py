# Chat client -- python client.py HOST PORT NICK ; /quit or Ctrl-D leaves
import os
import socket
import sys
import threading

host, port, nick = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket.create_connection((host, port))
sock.sendall(nick.encode())
leaving = threading.Event()


def show_incoming():
    while True:
        try:
            data = sock.recv(1024)
        except OSError:
            if leaving.is_set():
                return
            os._exit(1)
        if not data:
            if leaving.is_set():
                return
            print("Server closed the connection.", flush=True)
            os._exit(1)
        print(data.decode(errors="replace"), flush=True)


threading.Thread(target=show_incoming, daemon=True).start()
while True:
    try:
        line = input()
    except EOFError:
        line = "/quit"
    if line == "/quit":
        leaving.set()
    sock.sendall(line.encode())
    if leaving.is_set():
        break
sock.close()
