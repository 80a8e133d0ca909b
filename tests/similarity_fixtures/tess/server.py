"""Chat server built on socketserver: one handler thread per client, a dict of writers.

An independent small solution for the similarity tests (it shares no code with the
reference, the skeleton or the other test submissions). It is never run.
"""

import re
import socketserver
import sys
import threading

NICK = re.compile(r"^[\w.-]{1,20}$")
MAX_LINE = 4096


class Hub:
    def __init__(self):
        self.guard = threading.RLock()
        self.people = {}

    def add(self, name, wfile):
        with self.guard:
            if name in self.people:
                return False
            self.people[name] = wfile
        return True

    def drop(self, name):
        with self.guard:
            gone = self.people.pop(name, None)
        if gone is not None:
            self.shout(f"*** {name} left the chat", skip=name)

    def shout(self, text, skip=None):
        data = (text + "\n").encode("utf-8")
        with self.guard:
            targets = [(n, w) for n, w in self.people.items() if n != skip]
        for _, w in targets:
            try:
                w.write(data)
                w.flush()
            except OSError:
                continue

    def tell(self, name, text):
        with self.guard:
            w = self.people.get(name)
        if w is None:
            return False
        w.write((text + "\n").encode("utf-8"))
        w.flush()
        return True


HUB = Hub()


class ChatHandler(socketserver.StreamRequestHandler):
    def say(self, text):
        self.wfile.write((text + "\n").encode("utf-8"))

    def next_line(self):
        raw = self.rfile.readline(MAX_LINE + 2)
        if not raw:
            return None
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            self.say("*** error: line too long")
            return None
        try:
            return raw.rstrip(b"\r\n").decode("utf-8")
        except UnicodeDecodeError:
            self.say("*** error: invalid UTF-8, line ignored")
            return ""

    def handle(self):
        name = self.next_line()
        if not name or not NICK.match(name):
            self.say("*** error: bad nickname")
            return
        if not HUB.add(name, self.wfile):
            self.say(f"*** error: nickname {name} is already taken")
            return
        self.say(f"*** welcome {name}")
        host, port = self.client_address[:2]
        print(f"[join] {name} {host}:{port}", flush=True)
        HUB.shout(f"*** {name} joined the chat", skip=name)
        try:
            while (line := self.next_line()) is not None:
                if line == "/quit":
                    break
                if line.startswith("/w "):
                    _, who, *rest = line.split(" ", 2)
                    if not HUB.tell(who, f"*** {name} whispers: {' '.join(rest)}"):
                        self.say(f"*** error: no user {who}")
                elif line == "/users":
                    self.say("*** users: " + " ".join(sorted(HUB.people)))
                elif line:
                    HUB.shout(f"{name}: {line}", skip=name)
        finally:
            HUB.drop(name)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 5000
    with Server(("127.0.0.1", port), ChatHandler) as srv:
        print(f"listening on 127.0.0.1:{port}", flush=True)
        srv.serve_forever()
