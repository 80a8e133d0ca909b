# Chat client: python client.py [HOST PORT]
# Asks the nickname, answers the server's NICK, prints what arrives and sends
# "nick: text" for every line typed. Ctrl-D leaves.
import os
import socket
import sys
import threading

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 55555

nickname = input("Choose your nickname: ")
leaving = threading.Event()  # set when the user leaves: then a closed socket is fine
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((host, port))


def receive():
    while True:
        try:
            message = client.recv(1024).decode('utf-8', 'replace')
        except OSError:
            if leaving.is_set():
                return
            print("Connection lost!")
            os._exit(1)
        if not message:
            print("Server closed the connection")
            os._exit(1)
        if message == 'NICK':
            client.send(nickname.encode('utf-8'))
        else:
            print(message)


threading.Thread(target=receive, daemon=True).start()
try:
    while True:
        text = input('')
        client.send(f'{nickname}: {text}'.encode('utf-8'))
except (EOFError, KeyboardInterrupt):
    pass
leaving.set()
client.close()
