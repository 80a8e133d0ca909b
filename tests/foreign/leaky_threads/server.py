# Chat server -- python server.py PORT
# The first thing a client sends is its nickname. Then every message goes to the
# others as "nick: text". "/quit" leaves. Each client gets a reader thread and a
# writer thread with its own queue, so a slow client does not hold up the rest.
import queue
import socket
import sys
import threading

clients = {}  # nick -> queue of outgoing messages
lock = threading.Lock()


def broadcast(text, sender=None):
    with lock:
        for nick, q in clients.items():
            if nick != sender:
                q.put(text)


def writer(conn, q):
    while True:
        text = q.get()
        try:
            conn.sendall(text.encode())
        except OSError:
            return


def reader(conn, addr):
    nick = conn.recv(1024).decode().strip()
    if not nick:
        conn.close()
        return
    q = queue.Queue()
    threading.Thread(target=writer, args=(conn, q), daemon=True).start()
    q.put(f"Welcome {nick}")
    broadcast(f"* {nick} joined")
    with lock:
        clients[nick] = q
    print(f"join {nick} {addr[0]}:{addr[1]}")
    try:
        while True:
            data = conn.recv(1024)
            if not data or data == b"/quit":
                break
            broadcast(f"{nick}: {data.decode(errors='replace')}", sender=nick)
    except ConnectionError:
        pass
    with lock:
        del clients[nick]
    conn.close()
    print(f"leave {nick} {addr[0]}:{addr[1]}")
    broadcast(f"* {nick} left")


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen()
    print("chat server ready")
    while True:
        conn, addr = srv.accept()
        threading.Thread(target=reader, args=(conn, addr), daemon=True).start()


if __name__ == "__main__":
    main()
