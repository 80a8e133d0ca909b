# Chat server in the NeuralNine style (NICK, then "nick: text" relayed to everyone,
# the sender too), with the tutorial's mistakes fixed:
#  - the nickname is asked in the client's own thread, so a silent client blocks nobody
#  - recv() returning b'' means the client left: stop, announce it, clean up
#  - every client has its own outbox and writer thread, so a client that does not read
#    only fills its own queue instead of blocking everybody
# Usage: python server.py PORT
import queue
import socket
import sys
import threading

host = '127.0.0.1'
port = int(sys.argv[1]) if len(sys.argv) > 1 else 55555

outboxes = {}  # client socket -> its queue of bytes to send
lock = threading.Lock()


def broadcast(message):
    with lock:
        for box in outboxes.values():
            box.put(message)


def writer(client, box):
    # Sends what is queued for one client; None means the client is gone.
    while True:
        message = box.get()
        if message is None:
            break
        try:
            client.sendall(message)
        except OSError:
            break
    client.close()


def handle(client, address):
    box = queue.Queue()
    threading.Thread(target=writer, args=(client, box), daemon=True).start()
    nickname = ''
    try:
        client.sendall('NICK'.encode('utf-8'))
        nickname = client.recv(1024).decode('utf-8', 'replace')
        if not nickname:
            return
        with lock:
            outboxes[client] = box
        print(f"Connected with {address[0]}:{address[1]} as {nickname}")
        broadcast(f'{nickname} joined!'.encode('utf-8'))
        box.put('Connected to server!'.encode('utf-8'))
        while True:
            message = client.recv(1024)
            if not message:  # the client closed the connection
                break
            broadcast(message)
    except OSError:  # reset by the client
        pass
    finally:
        with lock:
            registered = outboxes.pop(client, None) is not None
        box.put(None)
        if registered:
            print(f"{nickname} left ({address[0]}:{address[1]})")
            broadcast(f'{nickname} left!'.encode('utf-8'))


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen()
    print(f"Server is listening on port {port}...")
    while True:
        client, address = server.accept()
        threading.Thread(target=handle, args=(client, address), daemon=True).start()


if __name__ == '__main__':
    main()
