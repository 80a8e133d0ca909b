# Chat server with a fixed-length header, after the sentdex socket tutorial, but
# with one thread per client instead of select().
# Every message is HEADER_LENGTH bytes giving the length of what follows, then the
# UTF-8 bytes. The first message from a client is its username.
import queue
import socket
import threading

HEADER_LENGTH = 10
IP = "127.0.0.1"
PORT = 32718

clients = {}  # socket -> (username, outbox)
lock = threading.Lock()


def frame(text):
    data = text.encode("utf-8")
    return f"{len(data):<{HEADER_LENGTH}}".encode("utf-8") + data


def recv_exact(sock, n):
    # recv() may return less than asked for: keep reading until we have n bytes
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive_message(sock):
    header = recv_exact(sock, HEADER_LENGTH)
    if header is None:
        return None
    body = recv_exact(sock, int(header.decode("utf-8").strip()))
    return None if body is None else body.decode("utf-8", "replace")


def writer(sock, outbox):
    while (data := outbox.get()) is not None:
        try:
            sock.sendall(data)
        except OSError:
            break
    sock.close()


def handle(sock, address):
    outbox = queue.Queue()
    threading.Thread(target=writer, args=(sock, outbox), daemon=True).start()
    username = None
    try:
        username = receive_message(sock)
        if not username:
            return
        with lock:
            clients[sock] = (username, outbox)
        print(f"Accepted new connection from {address[0]}:{address[1]}, username: {username}")
        while (message := receive_message(sock)) is not None:
            print(f"Received message from {username}: {message}")
            data = frame(f"{username} > {message}")
            with lock:
                for other, (_, box) in clients.items():
                    if other is not sock:
                        box.put(data)
    except (OSError, ValueError):  # reset, or a header that is not a number
        pass
    finally:
        with lock:
            clients.pop(sock, None)
        outbox.put(None)
        if username:
            print(f"Closed connection from: {username}")


server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind((IP, PORT))
server_socket.listen()
print(f"Listening for connections on {IP}:{PORT}...")
while True:
    client_socket, client_address = server_socket.accept()
    threading.Thread(target=handle, args=(client_socket, client_address), daemon=True).start()
