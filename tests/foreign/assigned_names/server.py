# Chat server: python server.py PORT
# Nobody picks a name: the server calls each connection user1, user2, ... in the
# order they arrive. A message goes to the others as "<name>  <text> "; "quit" leaves.
import queue
import socket
import sys
import threading

clients = {}  # socket -> (name, outbox)
lock = threading.Lock()
counter = 0


def send_all(text, but=None):
    with lock:
        for sock, (name, outbox) in clients.items():
            if sock is not but:
                outbox.put(text.encode())


def writer(sock, outbox):
    # one writer per client: a client that does not read only fills its own queue
    while True:
        data = outbox.get()
        if data is None:
            break
        try:
            sock.sendall(data)
        except OSError:
            break
    sock.close()


def client_thread(sock, addr, name):
    outbox = queue.Queue()
    threading.Thread(target=writer, args=(sock, outbox), daemon=True).start()
    outbox.put(f"Welcome, you are {name}".encode())
    send_all(f"{name} joined")
    with lock:
        clients[sock] = (name, outbox)
    print(f"{name} connected from {addr[0]}:{addr[1]}")
    try:
        while True:
            data = sock.recv(1024)
            if not data:
                break
            text = data.decode("utf-8", "replace")
            if text == "quit":
                break
            send_all(name + "  " + text + " ", but=sock)
    except OSError:
        pass
    with lock:
        del clients[sock]
    outbox.put(None)
    print(f"{name} disconnected from {addr[0]}:{addr[1]}")
    send_all(f"{name} left")


def main():
    global counter
    port = int(sys.argv[1])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    print("server started on port", port)
    while True:
        sock, addr = server.accept()
        counter += 1
        name = "user" + str(counter)
        threading.Thread(target=client_thread, args=(sock, addr, name), daemon=True).start()


main()
