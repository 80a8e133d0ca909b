"""Rebuild the ``broken_*`` submissions from ``reference_solution/``.

Each broken submission is a copy of every file of the reference solution with exactly
one classic student mistake put in. The mistakes are written below as text
replacements; the folders are made from them (and are not committed), so they always
match the reference solution. The test suite (``tests/conftest.py``) and the
benchmarks make them before use; by hand::

    python tests/submissions/make_broken.py          # write the broken_* folders
    python tests/submissions/make_broken.py --check  # fail if a folder is out of date

A replacement whose old text is no longer found exactly once is an error: the mistake
then has to be rewritten against the new reference code.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parents[1] / "reference_solution"


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Mistake:
    folder: str
    description: str  # the one line of MISTAKE.txt
    edits: tuple[Edit, ...]


def server(old: str, new: str) -> Edit:
    return Edit("server.py", old, new)


def client(old: str, new: str) -> Edit:
    return Edit("client.py", old, new)


def protocol(old: str, new: str) -> Edit:
    return Edit("protocol.py", old, new)


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "broken_echo",
        "Chat lines are sent to every member, the sender included (echo).",
        (
            server(
                "            receivers = [c for c in self._members.values() if c is not sender]\n",
                "            receivers = list(self._members.values())\n",
            ),
        ),
    ),
    Mistake(
        "broken_no_prefix",
        "Chat lines are forwarded as the bare text, without the 'nick: ' prefix.",
        (
            server("    chat_line,\n", ""),
            server("        line = chat_line(sender.nick, text)\n", "        line = text\n"),
        ),
    ),
    Mistake(
        "broken_replay",
        "Every newcomer is sent the last 50 chat lines right after its welcome, as plain"
        " chat lines, even without --history (replay).",
        (
            server("    history_line,\n", ""),
            server(
                "deque(maxlen=max(history_size, 0))\n        self._history_on = history_size > 0\n",
                "deque(maxlen=50)\n        self._history_on = True\n",
            ),
            server(
                "            self._replay_history(newcomer)\n"
                "            newcomer.send(welcome_line(nick))\n",
                "            newcomer.send(welcome_line(nick))\n"
                "            self._replay_history(newcomer)\n",
            ),
            server(
                "            newcomer.send(history_line(nick, text))\n",
                "            newcomer.send(chat_line(nick, text))\n",
            ),
        ),
    ),
    Mistake(
        "broken_no_join",
        "A newcomer is never announced to the others (no '*** <nick> joined the chat').",
        (
            server("    joined_line,\n", ""),
            server(
                "            others = [c for c in self._members.values() if c is not newcomer]\n",
                "",
            ),
            server("        for other in others:\n            other.send(joined_line(nick))\n", ""),
        ),
    ),
    Mistake(
        "broken_leave_twice",
        "/quit announces the leave, then the clean-up after the read loop announces it"
        " again (leave() has no 'already gone' guard).",
        (
            server(
                '        """Remove ``member`` and announce it; safe to call more than once."""\n',
                '        """Remove ``member`` and announce it."""\n',
            ),
            server(
                "            # Only the call that actually removes the member announces it, so a\n"
                "            # client that both sends /quit and then closes is announced once.\n"
                "            key = nick_key(member.nick)\n"
                "            if self._members.get(key) is not member:\n"
                "                return\n"
                "            del self._members[key]\n",
                "            self._members.pop(nick_key(member.nick), None)\n",
            ),
            server(
                '        if word == "/quit":\n            return False\n',
                '        if word == "/quit":\n            self.room.leave(self)\n'
                "            return False\n",
            ),
        ),
    ),
    Mistake(
        "broken_no_leave_on_reset",
        "The leave is announced only after a normal end of the read loop, not in"
        " 'finally': a client whose connection is reset is never announced as leaving.",
        (
            server(
                "                    if not self.handle_line(line):\n"
                "                        break\n",
                "                    if not self.handle_line(line):\n"
                "                        break\n"
                "                self.room.leave(self)\n",
            ),
            server(
                "            watchdog.cancel()\n            if joined:\n"
                "                self.room.leave(self)\n",
                "            watchdog.cancel()\n",
            ),
        ),
    ),
    Mistake(
        "broken_crash_on_reset",
        "The client thread catches only BrokenPipeError and TimeoutError: a connection"
        " reset raises ConnectionResetError, which kills the thread with a traceback.",
        (
            server(
                "        except OSError:\n"
                "            # ConnectionResetError, BrokenPipeError and TimeoutError are all"
                " OSErrors.\n"
                "            # A connection that breaks is simply a client leaving, not a"
                " server error.\n"
                "            pass\n",
                "        except (BrokenPipeError, TimeoutError):\n            pass\n",
            ),
        ),
    ),
    Mistake(
        "broken_exit_on_reset",
        "The client thread ends the whole server with os._exit(1) when its connection"
        " breaks (copied from the client): one reset kills the server.",
        (
            server("import argparse\n", "import argparse\nimport os\n"),
            server(
                "            # ConnectionResetError, BrokenPipeError and TimeoutError are all"
                " OSErrors.\n"
                "            # A connection that breaks is simply a client leaving, not a"
                " server error.\n"
                "            pass\n",
                '            log(f"connection with {format_address(self.address)} broken")\n'
                "            os._exit(1)\n",
            ),
        ),
    ),
    Mistake(
        "broken_serial",
        "The accept loop serves each client itself instead of starting a thread: one"
        " client at a time, the next waits until it leaves.",
        (
            server(
                "                # daemon=True: a thread still serving a client must not keep the\n"
                "                # program alive once the server has been told to stop.\n"
                '                name = f"client {format_address(address)}"\n'
                "                threading.Thread(target=connection.run, name=name,"
                " daemon=True).start()\n",
                "                connection.run()\n",
            ),
        ),
    ),
    Mistake(
        "broken_blocking_send",
        "No writer queue: send() calls sendall() directly and broadcast sends while holding"
        " the room lock, so one client that never reads freezes everybody.",
        (
            server(
                "        if not self.outbox.put(encode_line(line)):\n"
                "            self.abort()\n"
                "        # END SOLUTION\n",
                "        try:\n"
                "            self.sock.sendall(encode_line(line))\n"
                "        except OSError:\n"
                "            pass\n"
                "        # END SOLUTION\n",
            ),
            server(
                "        with self._lock:\n"
                "            # Copy the receivers while holding the lock, send after releasing"
                " it.\n"
                "            receivers = [c for c in self._members.values() if c is not sender]\n"
                "            self._remember(sender.nick, text)\n"
                "        for receiver in receivers:\n"
                "            receiver.send(line)\n",
                "        with self._lock:\n"
                "            self._remember(sender.nick, text)\n"
                "            for receiver in self._members.values():\n"
                "                if receiver is not sender:\n"
                "                    receiver.send(line)\n",
            ),
        ),
    ),
    Mistake(
        "broken_decode_per_chunk",
        "Each recv() chunk is decoded on its own (errors='replace') before lines are cut:"
        " a character split between two segments is garbled.",
        (
            server(
                "            yield from buffer.feed(chunk)\n",
                '            text = chunk.decode("utf-8", errors="replace")\n'
                '            yield from buffer.feed(text.encode("utf-8"))\n',
            ),
        ),
    ),
    Mistake(
        "broken_one_recv_one_message",
        "No line buffer: each recv() is taken as one message, so two lines in one segment"
        " or a line in pieces are mangled.",
        (
            server("    LineBuffer,\n", ""),
            server(
                "        buffer = LineBuffer()\n        while True:\n",
                "        while True:\n",
            ),
            server(
                "            yield from buffer.feed(chunk)\n",
                '            yield chunk.rstrip(b"\\r\\n")\n',
            ),
        ),
    ),
    Mistake(
        "broken_thread_leak",
        "At the end of the conversation the writer thread half-closes, then starts a fresh"
        " outbox and waits for more lines instead of leaving its loop, so it never ends and"
        " the reader thread waits for it forever: two threads and a socket stay behind for"
        " every client that left.",
        (
            server(
                "        while (data := self.outbox.take()) is not None:\n",
                "        while True:\n"
                "            data = self.outbox.take()\n"
                "            if data is None:\n"
                "                try:\n"
                "                    # Half-close: the client reads our last lines, then"
                " end-of-file.\n"
                "                    self.sock.shutdown(socket.SHUT_WR)\n"
                "                except OSError:\n"
                "                    pass\n"
                "                self.outbox = Outbox()  # ready for the next lines\n"
                "                continue\n",
            ),
            server(
                "                return\n"
                "        try:\n"
                "            # Half-close: the client reads our last lines, then end-of-file.\n"
                "            self.sock.shutdown(socket.SHUT_WR)\n"
                "        except OSError:\n"
                "            pass\n",
                "                return\n",
            ),
        ),
    ),
    Mistake(
        "broken_busy_loop",
        "recv() returning b'' is not treated as the end: the client's thread spins on it"
        " forever after the client closes.",
        (
            server(
                "            chunk = self.sock.recv(RECV_BYTES)\n"
                '            if not chunk:  # b"" means the client closed its end\n'
                "                return\n",
                "            chunk = self.sock.recv(RECV_BYTES)\n",
            ),
        ),
    ),
    Mistake(
        "broken_no_line_limit",
        "No line-length limit: a line of any size (or bytes without a newline) is"
        " buffered and broadcast.",
        (
            protocol(
                "            if len(line) > self.max_line_bytes:\n"
                '                raise LineTooLong(f"line of {len(line)} bytes")\n',
                "",
            ),
            protocol(
                '        # Without this check a peer that never sends "\\n" would grow the'
                " buffer forever.\n"
                '        # A trailing "\\r" may still be followed by "\\n", so it does not'
                " count yet.\n"
                '        limit = self.max_line_bytes + (1 if self._pending.endswith(b"\\r")'
                " else 0)\n"
                "        if len(self._pending) > limit:\n"
                '            raise LineTooLong(f"more than {self.max_line_bytes} bytes'
                ' without a newline")\n',
                "",
            ),
        ),
    ),
    Mistake(
        "broken_whisper_broadcast",
        "/w <nick> <text> sends the whisper line to every other member, not only to <nick>.",
        (
            server(
                "            receiver = self._members.get(nick_key(nick))\n"
                "        if receiver is None:\n"
                "            return False\n"
                "        receiver.send(whisper_line(sender.nick, text))\n",
                "            receiver = self._members.get(nick_key(nick))\n"
                "            others = [c for c in self._members.values() if c is not sender]\n"
                "        if receiver is None:\n"
                "            return False\n"
                "        for other in others:\n"
                "            other.send(whisper_line(sender.nick, text))\n",
            ),
        ),
    ),
    Mistake(
        "broken_crash_at_start",
        "Typo socket.create_sever: AttributeError before the server listens.",
        (server("    return socket.create_server(", "    return socket.create_sever("),),
    ),
    Mistake(
        "broken_never_listens",
        "main() holds the print lock while calling log(), which takes the same"
        " non-reentrant lock: deadlock before the socket is even created.",
        (
            server(
                "    raise_descriptor_limit()\n",
                "    raise_descriptor_limit()\n"
                "    with _print_lock:\n"
                '        log(f"starting the chat server on {args.host}:{args.port}")\n',
            ),
        ),
    ),
    Mistake(
        "broken_client_no_thread",
        "The client has no receiving thread: it reads the socket only after each typed"
        " line, so nothing the server sends shows while the user is idle.",
        (
            client(
                "        self.receiver.start()\n"
                "        server_gone = self.type_forever()\n"
                "        if server_gone:\n"
                "            # The receiver noticed too and ends the program with status 1;"
                " give it a\n"
                "            # moment to print what the server said last.\n"
                "            self.receiver.join(1.0)\n"
                "            return 1\n"
                "        self.quitting.set()\n"
                "        self.close()\n"
                "        self.receiver.join(1.0)\n"
                "        return 0\n",
                "        server_gone = self.type_forever()\n"
                "        if server_gone:\n"
                "            show(DISCONNECTED)\n"
                "            return 1\n"
                "        self.quitting.set()\n"
                "        self.close()\n"
                "        return 0\n",
            ),
            client(
                "            if quitting:\n"
                "                return False\n"
                "        # END SOLUTION\n",
                "            if quitting:\n"
                "                return False\n"
                "            if not self.show_waiting():\n"
                "                return True\n"
                "        # END SOLUTION\n"
                "\n"
                "    def show_waiting(self) -> bool:\n"
                '        """Print what the server sent meanwhile; False if it went away."""\n'
                "        self.sock.settimeout(0.1)\n"
                "        try:\n"
                "            while True:\n"
                "                chunk = self.sock.recv(RECV_BYTES)\n"
                "                if not chunk:\n"
                "                    return False\n"
                "                for line in self.buffer.feed(chunk):\n"
                '                    show(line.decode("utf-8", errors="replace"))\n'
                "        except TimeoutError:\n"
                "            return True\n"
                "        except (OSError, LineTooLong):\n"
                "            return False\n",
            ),
            client(
                "        self.receiver = threading.Thread(target=self.receive_forever,"
                " daemon=True)\n",
                "        self.buffer = LineBuffer(MAX_SERVER_LINE)\n",
            ),
        ),
    ),
    Mistake(
        "broken_client_hangs_on_quit",
        "After /quit or Ctrl-D the client never closes its socket, and the receiving thread"
        " is not a daemon: it stays blocked in recv() and keeps the program alive.",
        (
            client(
                "target=self.receive_forever, daemon=True)",
                "target=self.receive_forever)",
            ),
            client(
                "        self.quitting.set()\n        self.close()\n",
                "        self.quitting.set()\n",
            ),
        ),
    ),
    Mistake(
        "broken_client_traceback",
        "The receiving thread does not catch OSError: when the connection is reset it dies"
        " with a ConnectionResetError traceback (and the client never exits).",
        (
            client(
                "        except (OSError, LineTooLong):\n"
                "            pass  # a reset is a disconnection like any other\n",
                "        except LineTooLong:\n            pass\n",
            ),
        ),
    ),
)


def build(mistake: Mistake) -> dict[str, str]:
    """The files of the broken submission: name -> text."""
    files = {path.name: path.read_text(encoding="utf-8") for path in sorted(REFERENCE.glob("*.py"))}
    for edit in mistake.edits:
        text = files[edit.file]
        count = text.count(edit.old)
        if count != 1:
            raise SystemExit(
                f"{mistake.folder}: expected the text to replace exactly once in"
                f" {edit.file}, found it {count} times:\n{edit.old}"
            )
        files[edit.file] = text.replace(edit.old, edit.new)
    for name, text in files.items():
        if text == (REFERENCE / name).read_text(encoding="utf-8"):
            continue
        # Mark the copy at its top, so nobody mistakes it for the real solution.
        header = f"Deliberately broken copy of reference_solution/{name}: {mistake.description}"
        files[name] = textwrap.fill(header, 92, initial_indent="# ", subsequent_indent="# ")
        files[name] += "\n" + text
    files["MISTAKE.txt"] = mistake.description + "\n"
    return files


def _current(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*") if p.is_file()}


def stale() -> list[Mistake]:
    """The mistakes whose folder is missing or differs from what build() makes."""
    return [m for m in MISTAKES if _current(HERE / m.folder) != build(m)]


def ensure() -> list[str]:
    """Write every folder that is missing or out of date; the names written. The test
    suite and the benchmarks call this first: the folders are made, not committed."""
    written = []
    for mistake in stale():
        folder = HERE / mistake.folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for name, text in build(mistake).items():
            (folder / name).write_text(text, encoding="utf-8")
        written.append(mistake.folder)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = [m.folder for m in stale()]
        if out_of_date:
            print("out of date: " + ", ".join(out_of_date), file=sys.stderr)
            return 1
        return 0
    ensure()
    return 0


if __name__ == "__main__":
    sys.exit(main())
