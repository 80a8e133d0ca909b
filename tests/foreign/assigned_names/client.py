# Chat client: python client.py HOST PORT
# The server gives us our name. Type messages; "quit" or Ctrl-D leaves.
import os
import socket
import sys
import threading

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.connect((sys.argv[1], int(sys.argv[2])))
quitting = False


def listen():
    while True:
        try:
            data = sock.recv(1024)
        except OSError:
            if quitting:
                return
            print("Connection lost")
            os._exit(1)
        if not data:
            if quitting:
                return
            print("Disconnected from server")
            os._exit(1)
        print(data.decode("utf-8", "replace"))


threading.Thread(target=listen, daemon=True).start()
while True:
    try:
        text = input()
    except EOFError:
        text = "quit"
    if text == "quit":
        quitting = True
    sock.send(text.encode())
    if quitting:
        break
sock.close()
