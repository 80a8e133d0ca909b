# Chat client with a 10-byte length header (sentdex style, with a receiving thread).
import os
import socket
import threading

HEADER_LENGTH = 10
IP = "127.0.0.1"
PORT = 32718
leaving = threading.Event()  # the user left: the socket is closed on purpose


def frame(text):
    data = text.encode("utf-8")
    return f"{len(data):<{HEADER_LENGTH}}".encode("utf-8") + data


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive(sock):
    try:
        while (header := recv_exact(sock, HEADER_LENGTH)) is not None:
            body = recv_exact(sock, int(header.decode("utf-8").strip()))
            if body is None:
                break
            print(body.decode("utf-8", "replace"), flush=True)
        print("Connection closed by the server", flush=True)
    except (OSError, ValueError) as e:
        if leaving.is_set():
            return
        print("Reading error:", e, flush=True)
    os._exit(1)


my_username = input("Username: ")
client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect((IP, PORT))
client_socket.sendall(frame(my_username))
threading.Thread(target=receive, args=(client_socket,), daemon=True).start()
while True:
    try:
        message = input()
    except EOFError:
        leaving.set()
        break
    if message:
        client_socket.sendall(frame(message))
client_socket.close()
