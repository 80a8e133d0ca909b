"""Chat server with colours in the server console.

    pip install colorama
    python server.py --port 5000

Lines end with '\\n'. The first line from a client is its nickname; the server answers
"Welcome, <nick>!", tells the others "<nick> has joined", and relays "<nick>: <text>".
"/quit" leaves.
"""
import argparse
import socket
import threading

from colorama import Fore, Style, init

init(autoreset=True)
clients = {}  # socket -> nick
lock = threading.Lock()


def broadcast(line, skip=None):
    with lock:
        targets = [s for s in clients if s is not skip]
    for s in targets:
        try:
            s.sendall((line + "\n").encode())
        except OSError:
            pass


def serve(sock, addr):
    reader = sock.makefile("rb")
    nick = None
    try:
        nick = reader.readline().decode().strip()
        if not nick:
            return
        sock.sendall(f"Welcome, {nick}!\n".encode())
        broadcast(f"{nick} has joined")
        with lock:
            clients[sock] = nick
        print(Fore.GREEN + f"+ {nick} {addr[0]}:{addr[1]}")
        for raw in reader:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if text == "/quit":
                break
            broadcast(f"{nick}: {text}", skip=sock)
    except OSError:
        pass
    finally:
        with lock:
            clients.pop(sock, None)
        sock.close()
        if nick:
            print(Fore.RED + f"- {nick} {addr[0]}:{addr[1]}")
            broadcast(f"{nick} has left")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    port = parser.parse_args().port
    server = socket.create_server(("127.0.0.1", port))
    print(Style.BRIGHT + f"Server running on port {port}")
    while True:
        sock, addr = server.accept()
        threading.Thread(target=serve, args=(sock, addr), daemon=True).start()


if __name__ == "__main__":
    main()
