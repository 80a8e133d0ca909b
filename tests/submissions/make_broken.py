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
        "broken_client_thread_after_first_line",
        "The client starts its receiving thread only once the user has typed a line, so"
        " nothing the server sends shows before that.",
        (
            client(
                "        self.receiver.start()\n"
                "        server_gone = self.type_forever()\n",
                "        server_gone = self.type_forever()\n",
            ),
            client(
                "            try:\n"
                "                self.send(line)\n"
                "            except OSError:\n"
                "                return not quitting\n",
                "            try:\n"
                "                self.send(line)\n"
                "            except OSError:\n"
                "                return not quitting\n"
                "            if self.receiver.ident is None:  # not started yet\n"
                "                self.receiver.start()\n",
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
    # -- framing (PROTOCOL.md §1) ------------------------------------------------------
    Mistake(
        "broken_crlf_kept",
        "LineBuffer keeps the '\\r' of a line ending in '\\r\\n': a telnet user's nickname"
        " ends in '\\r' and is refused, and each chat line carries a stray '\\r'.",
        (protocol('            if line.endswith(b"\\r"):\n'
                  "                line = line[:-1]\n", ""),),
    ),
    Mistake(
        "broken_line_limit_counts_cr",
        "The line length is checked before the '\\r' of '\\r\\n' is dropped: a line of"
        " exactly 4096 bytes sent with '\\r\\n' is refused as too long.",
        (
            protocol(
                '            if line.endswith(b"\\r"):\n                line = line[:-1]\n'
                "            if len(line) > self.max_line_bytes:\n"
                '                raise LineTooLong(f"line of {len(line)} bytes")\n',
                "            if len(line) > self.max_line_bytes:\n"
                '                raise LineTooLong(f"line of {len(line)} bytes")\n'
                '            if line.endswith(b"\\r"):\n                line = line[:-1]\n',
            ),
        ),
    ),
    Mistake(
        "broken_line_limit_at_newline_only",
        "The line length is checked only when a '\\n' arrives: a client that sends bytes"
        " without a newline grows the buffer without end and is never refused.",
        (
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
        "broken_drops_partial_line",
        "LineBuffer throws away the bytes after the last newline instead of keeping them"
        " for the next recv(): a line that arrives in pieces loses its beginning.",
        (
            protocol(
                "            lines.append(line)\n",
                "            lines.append(line)\n"
                "        self._pending.clear()  # what is left is not a line\n",
            ),
        ),
    ),
    Mistake(
        "broken_nick_new_buffer",
        "The nickname is read through one line buffer and the chat through a new one: the"
        " bytes that came with the nickname in the same segment are lost.",
        (
            server(
                "            lines = self.receive_lines()\n"
                "            try:\n"
                "                nick = self.receive_nickname(lines)\n",
                "            lines = self.receive_lines()\n"
                "            try:\n"
                "                nick = self.receive_nickname(lines)\n"
                "                lines = self.receive_lines()\n",
            ),
        ),
    ),
    Mistake(
        "broken_invalid_utf8_closes",
        "A line that is not valid UTF-8 ends the connection (as /quit does) instead of"
        " being ignored.",
        (
            server(
                "            self.send(error_line(INVALID_UTF8))\n            return True\n",
                "            self.send(error_line(INVALID_UTF8))\n            return False\n",
            ),
        ),
    ),
    Mistake(
        "broken_invalid_utf8_broadcast",
        "After answering the invalid UTF-8 error the line is not dropped: it is decoded with"
        " replacement characters and broadcast.",
        (
            server(
                "            self.send(error_line(INVALID_UTF8))\n            return True\n",
                "            self.send(error_line(INVALID_UTF8))\n"
                '            text = raw.decode("utf-8", errors="replace")\n',
            ),
        ),
    ),
    Mistake(
        "broken_control_chars_raw",
        "Chat lines are broadcast without printable(): an ESC sent by one user reaches the"
        " others raw and repaints their terminals.",
        (server("        self.room.broadcast(self, printable(text))\n",
                "        self.room.broadcast(self, text)\n"),),
    ),
    Mistake(
        "broken_tab_escaped",
        "printable() escapes the tab too, so a tab in a chat line arrives as '\\x09'.",
        (protocol('    if code != ord("\\t")\n', ""),),
    ),
    Mistake(
        "broken_latin1",
        "Lines are sent to clients encoded as Latin-1 instead of UTF-8: 'João' arrives as"
        " bytes that are not UTF-8, and '✓' as '?'.",
        (
            protocol('    return (text + "\\n").encode("utf-8")\n',
                     '    return (text + "\\n").encode("latin-1", errors="replace")\n'),
        ),
    ),
    # -- registration (§2) -------------------------------------------------------------
    Mistake(
        "broken_welcome_text",
        "The welcome line is '*** Welcome, <nick>!' instead of '*** welcome <nick>'.",
        (protocol('    return f"*** welcome {nick}"\n', '    return f"*** Welcome, {nick}!"\n'),),
    ),
    Mistake(
        "broken_notice_without_stars",
        "The join announcement is '<nick> joined the chat', without the '*** ' that marks"
        " every server notice: it looks like a chat line from <nick>.",
        (protocol('    return f"*** {nick} joined the chat"\n',
                  '    return f"{nick} joined the chat"\n'),),
    ),
    Mistake(
        "broken_nick_length_in_bytes",
        "The nickname's length is counted in UTF-8 bytes, not characters: a name of 20"
        " Greek letters (40 bytes) is refused.",
        (protocol("    if len(nick) > MAX_NICK_LENGTH:\n",
                  '    if len(nick.encode("utf-8")) > MAX_NICK_LENGTH:\n'),),
    ),
    Mistake(
        "broken_nick_no_length_limit",
        "Nicknames of any length are accepted (the 20-character limit is missing).",
        (
            protocol(
                "    if len(nick) > MAX_NICK_LENGTH:\n"
                '        return f"nickname longer than {MAX_NICK_LENGTH} characters"\n',
                "",
            ),
        ),
    ),
    Mistake(
        "broken_nick_ascii_only",
        "Only ASCII letters and digits are accepted in a nickname: 'João', 'Ωμέγα' and"
        " '李雷' are refused.",
        (
            protocol(
                "    if not all(char.isalnum() or char in NICK_PUNCTUATION or is_mark(char)"
                " for char in nick):\n",
                "    if not all((char.isascii() and char.isalnum()) or char in NICK_PUNCTUATION\n"
                "               for char in nick):\n",
            ),
        ),
    ),
    Mistake(
        "broken_nick_no_dash_dot",
        "Only '_' is allowed besides letters and digits: 'R2-D2' and 'dr.who_2' are refused.",
        (protocol('NICK_PUNCTUATION = "_-."\n', 'NICK_PUNCTUATION = "_"\n'),),
    ),
    Mistake(
        "broken_nick_blacklist",
        "Nicknames are checked against a list of bad characters (space and ':') instead of"
        " the allowed kinds: '*', '/', control characters and emoji get through.",
        (
            protocol(
                "    if not all(char.isalnum() or char in NICK_PUNCTUATION or is_mark(char)"
                " for char in nick):\n",
                '    if any(char in " :" for char in nick):\n',
            ),
        ),
    ),
    Mistake(
        "broken_nick_taken_replaces",
        "The nickname is not checked for being taken: a second 'ana' replaces the first in"
        " the room.",
        (
            server(
                "            if key in self._members:\n"
                '                return f"nickname {nick} is already taken"\n',
                "",
            ),
        ),
    ),
    Mistake(
        "broken_leave_by_name",
        "A connection keeps the nickname it asked for even when refused, and leave()"
        " removes members by name: a refused second 'ana' removes the real ana and"
        " announces that she left.",
        (
            server("        reason = nickname_error(nick)\n",
                   "        self.nick = nick\n        reason = nickname_error(nick)\n"),
            server(
                "            if self._members.get(key) is not member:\n",
                "            if key not in self._members:\n",
            ),
            server(
                "            watchdog.cancel()\n            if joined:\n"
                "                self.room.leave(self)\n",
                "            watchdog.cancel()\n            self.room.leave(self)\n",
            ),
        ),
    ),
    Mistake(
        "broken_nick_never_freed",
        "Every nickname ever used stays taken: once ana has left, nobody can be ana again.",
        (
            server(
                "        self._members: dict[str, Connection] = {}\n",
                "        self._members: dict[str, Connection] = {}\n"
                "        self._used: set[str] = set()  # every nickname registered so far\n",
            ),
            server("            if key in self._members:\n",
                   "            if key in self._members or key in self._used:\n"),
            server("            self._members[key] = newcomer\n",
                   "            self._members[key] = newcomer\n"
                   "            self._used.add(key)\n"),
        ),
    ),
    Mistake(
        "broken_refused_nick_served",
        "After refusing a nickname the server keeps reading that connection and broadcasts"
        " its lines under the refused name (and never closes it).",
        (
            server(
                "            self.send(error_line(reason))\n            return False\n",
                "            self.send(error_line(reason))\n            self.nick = nick\n"
                "            return False\n",
            ),
            server(
                "            if joined:\n                for line in lines:\n",
                "            if nick is not None:\n                for line in lines:\n",
            ),
        ),
    ),
    Mistake(
        "broken_broadcast_to_unregistered",
        "Chat lines go to every open connection, also to one that has not sent its"
        " nickname yet.",
        (
            server(
                "            receivers = [c for c in self._members.values() if c is not sender]\n"
                "            self._remember(sender.nick, text)\n",
                "            with sender.server._connections_lock:  # every connection\n"
                "                receivers = [c for c in sender.server._connections"
                " if c is not sender]\n"
                "            self._remember(sender.nick, text)\n",
            ),
        ),
    ),
    # -- chat (§3) ---------------------------------------------------------------------
    Mistake(
        "broken_broadcast_first_only",
        "A chat line is sent to the first other member only, not to every other member.",
        (server("        for receiver in receivers:\n",
                "        for receiver in receivers[:1]:\n"),),
    ),
    Mistake(
        "broken_lines_popped",
        "The lines of each recv() are taken with list.pop(), from the last to the first:"
        " lines that arrive together are handled in reverse order.",
        (
            server(
                "            yield from buffer.feed(chunk)\n",
                "            lines = buffer.feed(chunk)\n"
                "            while lines:\n"
                "                yield lines.pop()\n",
            ),
        ),
    ),
    Mistake(
        "broken_empty_lines_broadcast",
        "Empty lines are not skipped: each one is broadcast as '<nick>: '.",
        (server("        if not text:\n            return True\n", ""),),
    ),
    # -- leaving (§4) ------------------------------------------------------------------
    Mistake(
        "broken_leave_only_on_quit",
        "The leave is announced only for /quit: a client that closes its connection (or is"
        " reset) is never announced as leaving.",
        (
            server(
                '        if word == "/quit":\n            return False\n',
                '        if word == "/quit":\n            self.room.leave(self)\n'
                "            return False\n",
            ),
            server(
                "            watchdog.cancel()\n            if joined:\n"
                "                self.room.leave(self)\n",
                "            watchdog.cancel()\n",
            ),
        ),
    ),
    Mistake(
        "broken_leave_log_only_on_close",
        "The [leave] line is printed only where recv() returns b'': a client that leaves"
        " with /quit, or whose connection is reset, is never logged as leaving.",
        (
            server('        log(f"[leave] {member.nick} {format_address(member.address)}")\n', ""),
            server(
                '            if not chunk:  # b"" means the client closed its end\n'
                "                return\n",
                '            if not chunk:  # b"" means the client closed its end\n'
                "                if self.nick:\n"
                '                    log(f"[leave] {self.nick} {format_address(self.address)}")\n'
                "                return\n",
            ),
        ),
    ),
    Mistake(
        "broken_log_without_port",
        "The [join] line shows only the client's IP address, not IP:port.",
        (server('        log(f"[join] {nick} {format_address(newcomer.address)}")\n',
                '        log(f"[join] {nick} {newcomer.address[0]}")\n'),),
    ),
    # -- commands (§5) -----------------------------------------------------------------
    Mistake(
        "broken_commands_as_chat",
        "Only /quit, /users and /w are commands: any other line starting with '/' is"
        " broadcast as chat instead of answered 'unknown command'.",
        (
            server(
                '        self.send(error_line(f"unknown command {printable(word)}"))\n'
                "        return True\n        # END SOLUTION\n",
                "        self.room.broadcast(self, printable(text))\n"
                "        return True\n        # END SOLUTION\n",
            ),
        ),
    ),
    Mistake(
        "broken_quit_stays_open",
        "/quit is answered like any handled command: the connection stays open and the"
        " client is never announced as leaving.",
        (server('        if word == "/quit":\n            return False\n',
                '        if word == "/quit":\n            return True\n'),),
    ),
    Mistake(
        "broken_unknown_command_text",
        "An unknown command is answered '*** error: unknown command', without naming it.",
        (
            server(
                '        self.send(error_line(f"unknown command {printable(word)}"))\n'
                "        return True\n        # END SOLUTION\n",
                '        self.send(error_line("unknown command"))\n'
                "        return True\n        # END SOLUTION\n",
            ),
        ),
    ),
    Mistake(
        "broken_users_keeps_leavers",
        "/users lists every nickname that ever joined, also those who have left.",
        (
            server(
                "        self._members: dict[str, Connection] = {}\n",
                "        self._members: dict[str, Connection] = {}\n"
                "        self._seen: list[str] = []  # the nicknames /users shows\n",
            ),
            server("            self._members[key] = newcomer\n",
                   "            self._members[key] = newcomer\n"
                   "            self._seen.append(nick)\n"),
            server("            return [member.nick for member in self._members.values()]\n",
                   "            return list(self._seen)\n"),
        ),
    ),
    Mistake(
        "broken_users_unsorted",
        "/users lists the nicknames in the order they joined, not sorted.",
        (protocol('", ".join(sorted(nicks))', '", ".join(nicks)'),),
    ),
    Mistake(
        "broken_whisper_echo",
        "The sender of a whisper gets a copy of it.",
        (
            server(
                "        receiver.send(whisper_line(sender.nick, text))\n        return True\n",
                "        receiver.send(whisper_line(sender.nick, text))\n"
                "        sender.send(whisper_line(sender.nick, text))  # a copy for the sender\n"
                "        return True\n",
            ),
        ),
    ),
    Mistake(
        "broken_whisper_empty_text",
        "'/w <nick>' without a text is not a usage error: it sends <nick> an empty whisper.",
        (server("            if not nick or not message:\n", "            if not nick:\n"),),
    ),
    Mistake(
        "broken_unknown_user_silent",
        "'/w <nick> <text>' to a nickname nobody has is silently dropped: no 'no such user'"
        " error.",
        (
            server(
                "            elif not self.room.whisper(self, nick, printable(message)):\n"
                '                self.send(error_line(f"no such user {printable(nick)}"))\n',
                "            else:\n"
                "                self.room.whisper(self, nick, printable(message))\n",
            ),
        ),
    ),
    # -- history (§6) ------------------------------------------------------------------
    Mistake(
        "broken_history_after_welcome",
        "With --history the remembered lines are replayed after the welcome, not just"
        " before it.",
        (
            server(
                "            self._replay_history(newcomer)\n"
                "            newcomer.send(welcome_line(nick))\n",
                "            newcomer.send(welcome_line(nick))\n"
                "            self._replay_history(newcomer)\n",
            ),
        ),
    ),
    Mistake(
        "broken_history_all_lines",
        "With --history N every chat line is kept and replayed, not only the last N.",
        (server("deque(maxlen=max(history_size, 0))", "deque()"),),
    ),
    Mistake(
        "broken_history_unmarked",
        "History lines are replayed as plain chat lines, without the '*** history ' mark:"
        " a newcomer cannot tell them from live ones.",
        (protocol('    return f"*** history {nick}: {text}"\n', '    return f"{nick}: {text}"\n'),),
    ),
    Mistake(
        "broken_history_keeps_whispers",
        "Whispers are remembered like public chat lines, so --history replays them to"
        " every newcomer.",
        (
            server(
                "        receiver.send(whisper_line(sender.nick, text))\n        return True\n",
                "        receiver.send(whisper_line(sender.nick, text))\n"
                "        with self._lock:\n"
                "            self._remember(sender.nick, text)\n"
                "        return True\n",
            ),
        ),
    ),
    Mistake(
        "broken_history_zero_unlimited",
        "--history 0 is taken to mean 'no limit': every chat line is kept and replayed"
        " (without the option nothing is).",
        (
            server(
                "deque(maxlen=max(history_size, 0))\n"
                "        self._history_on = history_size > 0\n",
                "deque(maxlen=history_size or None)\n"
                "        self._history_on = history_size is not None  # 0: no limit\n",
            ),
            server(
                '        "--history",\n        type=int,\n        default=0,\n',
                '        "--history",\n        type=int,\n        default=None,\n',
            ),
            server("    if not 0 <= args.history <= MAX_HISTORY:\n",
                   "    if args.history is not None and not 0 <= args.history <= MAX_HISTORY:\n"),
        ),
    ),
    # -- the server program (§7) -------------------------------------------------------
    Mistake(
        "broken_prints_requested_port",
        "The listening line shows the --port that was asked for, so with --port 0 it says"
        " port 0 instead of the port the system picked.",
        (server('    log(f"listening on {args.host}:{server.address[1]}")\n',
                '    log(f"listening on {args.host}:{args.port}")\n'),),
    ),
    Mistake(
        "broken_no_goodbye",
        "On shutdown the clients are disconnected without '*** server shutting down'.",
        (server("            member.send_last(SHUTDOWN_LINE)\n", "            member.abort()\n"),),
    ),
    Mistake(
        "broken_sigterm_kills",
        "SIGTERM is not handled: it kills the server on the spot, and nobody is told.",
        (server("    signal.signal(signal.SIGTERM, signal.default_int_handler)\n", ""),),
    ),
    Mistake(
        "broken_shutdown_uncaught_interrupt",
        "KeyboardInterrupt is not caught in main(): after the goodbyes the server dies with"
        " a traceback instead of exiting with status 0.",
        (server("        server.serve_forever()\n    except KeyboardInterrupt:\n        pass\n",
                "        server.serve_forever()\n"),),
    ),
    Mistake(
        "broken_sigint_swallowed",
        "To hide the traceback on Ctrl-C, SIGINT gets a handler that does nothing: Ctrl-C"
        " no longer stops the server.",
        (server("    signal.signal(signal.SIGINT, signal.default_int_handler)\n",
                "    signal.signal(signal.SIGINT, lambda signum, frame: None)  # no traceback\n"),),
    ),
    Mistake(
        "broken_threads_not_daemon",
        "The client threads are not daemon threads: on shutdown a connection that never"
        " sent its nickname keeps its thread, its socket and the whole program alive.",
        (server("threading.Thread(target=connection.run, name=name, daemon=True).start()",
                "threading.Thread(target=connection.run, name=name).start()"),),
    ),
    # -- the client program (§8) -------------------------------------------------------
    Mistake(
        "broken_client_nick_no_newline",
        "The client sends its nickname without the '\\n' that ends a line.",
        (client("            self.send(nick)\n",
                "            self.sock.sendall(nick.encode())\n"),),
    ),
    Mistake(
        "broken_client_prompt_text",
        "Without --nick the client asks 'Nick? ' instead of 'Nickname: '.",
        (client('input("Nickname: ")', 'input("Nick? ")'),),
    ),
    Mistake(
        "broken_client_strips_lines",
        "The client strips the spaces around each typed line before sending it.",
        (client("                self.send(line)\n", "                self.send(line.strip())\n"),),
    ),
    Mistake(
        "broken_client_eof_traceback",
        "Ctrl-D is not handled: input() raises EOFError, the client dies with a traceback"
        " and status 1.",
        (
            client(
                "            except (EOFError, KeyboardInterrupt):  # Ctrl-D / Ctrl-C: the user"
                " is done\n",
                "            except KeyboardInterrupt:  # Ctrl-C: the user is done\n",
            ),
        ),
    ),
    Mistake(
        "broken_client_exit_0_on_close",
        "When the server goes away the client exits with status 0, as if the user had quit.",
        (client("        os._exit(1)\n", "        os._exit(0)\n"),),
    ),
    Mistake(
        "broken_client_silent_disconnect",
        "When the server goes away the client exits without '*** disconnected from server'.",
        (
            client(
                "        show(DISCONNECTED)\n        # The main thread is blocked in input()",
                "        # The main thread is blocked in input()",
            ),
        ),
    ),
    Mistake(
        "broken_client_hides_error",
        "An '*** error: …' line from the server is taken as the end of the connection and"
        " not printed: the user never learns why.",
        (
            client(
                "                for line in buffer.feed(chunk):\n"
                '                    show(line.decode("utf-8", errors="replace"))\n',
                "                for line in buffer.feed(chunk):\n"
                '                    text = line.decode("utf-8", errors="replace")\n'
                '                    if text.startswith("*** error: "):\n'
                "                        raise ConnectionAbortedError(text)  # refused: give up\n"
                "                    show(text)\n",
            ),
        ),
    ),
    Mistake(
        "broken_client_decode_per_chunk",
        "The client decodes each recv() chunk on its own (errors='replace'): a character"
        " cut between two segments is shown garbled.",
        (
            client(
                "                for line in buffer.feed(chunk):\n"
                '                    show(line.decode("utf-8", errors="replace"))\n',
                '                text = chunk.decode("utf-8", errors="replace")\n'
                '                for line in buffer.feed(text.encode("utf-8")):\n'
                '                    show(line.decode("utf-8"))\n',
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
