"""Global chat server (Networks, lab 2).

One message per line ('\\n'), UTF-8:
  server -> client   USERNAME                         (asks for the user name)
  client -> server   <name>
  server -> all      SERVER [all]: <name> joined      (the newcomer included)
  client -> server   <text> | /msg <name> <text> | /list | /EXIT
  server -> others   FROM <name> [all]: <text>
  server -> one      FROM <name> [private]: <text>
  server -> client   ONLINE: <names, sorted>  |  ERROR <what>
"""
import argparse
import queue
import socket
import threading

users = {}  # name -> Client
lock = threading.Lock()


class Client:
    def __init__(self, sock, addr):
        self.sock, self.addr, self.name = sock, addr, None
        self.outbox = queue.Queue()  # a slow reader only fills its own queue
        threading.Thread(target=self.write_loop, daemon=True).start()

    def send(self, line):
        self.outbox.put(line)

    def write_loop(self):
        while (line := self.outbox.get()) is not None:
            try:
                self.sock.sendall((line + "\n").encode())
            except OSError:
                break
        self.sock.close()


def to_all(line, skip=None):
    with lock:
        targets = [c for c in users.values() if c is not skip]
    for c in targets:
        c.send(line)


def read_lines(sock):
    buf = b""
    while data := sock.recv(4096):
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            yield raw.rstrip(b"\r").decode("utf-8", "replace")


def serve(client):
    lines = read_lines(client.sock)
    try:
        client.send("USERNAME")
        name = next(lines, "").strip()
        with lock:
            taken = name in users
            if name and not taken:
                client.name = name
                users[name] = client
        if not client.name:
            client.send("ERROR name taken" if taken else "ERROR empty name")
            return
        print(f"[+] {name} {client.addr[0]}:{client.addr[1]}", flush=True)
        to_all(f"SERVER [all]: {name} joined")
        for line in lines:
            if line == "/EXIT":
                break
            if line == "/list":
                with lock:
                    client.send("ONLINE: " + " ".join(sorted(users)))
            elif line.startswith("/msg "):
                _, to, text = (line.split(" ", 2) + ["", ""])[:3]
                with lock:
                    target = users.get(to)
                if target and text:
                    target.send(f"FROM {name} [private]: {text}")
                else:
                    client.send(f"ERROR cannot send to {to}")
            elif line.startswith("/"):
                client.send(f"ERROR unknown command {line.split()[0]}")
            elif line:
                to_all(f"FROM {name} [all]: {line}", skip=client)
    except OSError:
        pass
    finally:
        client.send(None)  # the writer sends what is left, then closes
        if client.name:
            with lock:
                del users[client.name]
            print(f"[-] {client.name} {client.addr[0]}:{client.addr[1]}", flush=True)
            to_all(f"SERVER [all]: {client.name} left")


def main():
    parser = argparse.ArgumentParser(description="global chat server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    listener = socket.create_server((args.host, args.port))
    print(f"Chat server on {args.host}:{args.port}", flush=True)
    while True:
        sock, addr = listener.accept()
        threading.Thread(target=serve, args=(Client(sock, addr),), daemon=True).start()


if __name__ == "__main__":
    main()
