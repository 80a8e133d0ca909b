"""Protocol profiles: everything protocol-specific, in one TOML file.

The default, ``profiles/chatlab.toml``, is this kit's protocol (``lab/PROTOCOL.md``).
Another course's chat assignment gets its own profile: how the server is started and
told its port, the handshake, the chat line format, join/leave announcements, echo,
framing, the commands. A check that needs something the profile does not have (say,
``/users`` when the assignment has no such command) is reported as *not applicable*,
never failed. See ``profiles/README.md`` for the fields.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from .messages import L_, SENTENCES, Text

PROFILES_DIR = Path(__file__).parent / "profiles"
# How messages are delimited: by a newline; not at all (one send() is one message, as
# most first chat assignments do); by a 10-byte length header (a common tutorial's).
FRAMINGS = ("newline", "none", "length10")
FRAMING_SYNONYMS = {"unframed": "none"}  # what other courses call them
# A line template may hold {time}, the server's clock: it is shown, and matched, as this
# (fake peers read every HH:MM:SS in a received line as it).
CLOCK_SHOWN = "HH:MM:SS"
DEFAULT_PROFILE = PROFILES_DIR / "chatlab.toml"
# What the checks that only chatlab's protocol can express need (feature "chatlab:<key>").
CHATLAB_RULES = {
    "whisper_errors": "the exact error answers to a wrong whisper",
    "nicknames": "the exact nickname rules (1-20 letters, digits, _ - .)",
    "history": "the history replay marked '*** history'",
    "control_chars": "showing control characters escaped",
    "commands": "which lines are never chat (empty lines, unknown commands)",
    "crlf": "dropping the \\r of a line ending in \\r\\n",
    "invalid_utf8": "the error answer to a line that is not UTF-8",
    "port_zero": "printing the port the system picked for --port 0",
    "shutdown": "the '*** server shutting down' notice on SIGINT and SIGTERM",
}

# TOML [section] -> the fields it holds (field name = key, except where mapped).
_SECTIONS: dict[str, dict[str, str]] = {
    "": {"name": "name", "description": "description"},
    "server": {
        "command": "server_command",
        "ready": "server_ready",
        "fixed_port": "fixed_port",
        "fixed_host": "fixed_host",
        "history_option": "history_option",
    },
    "client": {
        "command": "client_command",
        "command_without_nick": "client_command_prompt",
        "prompt": "client_prompt",
        "disconnected": "client_disconnected",
        "stdin": "client_stdin",
    },
    "handshake": {"greeting": "greeting", "register": "register", "welcome": "welcome",
                  "registers": "registers", "assigned_name": "assigned_name"},
    "chat": {
        "format": "chat",
        "echo": "echo",
        "joined": "joined",
        "left": "left",
        "framing": "framing",
        "max_line": "max_line",
        "error_prefix": "error_prefix",
        "chat_out": "chat_out",
        "self_join": "self_join",
    },
    "log": {"join": "log_join", "leave": "log_leave"},
    "commands": {
        "quit": "quit",
        "users": "users",
        "users_command": "users_command",
        "users_separator": "users_separator",
        "quit_reply": "quit_reply",
        "whisper": "whisper",
        "whisper_line": "whisper_line",
        "unknown_command_errors": "unknown_command_errors",
        "nickname_rules": "nickname_rules",
    },
}


@dataclass(frozen=True)
class Profile:
    """One chat protocol, as the checks need to know it. Empty string = "not in this one"."""

    name: str = "chatlab"
    description: str = ""
    server_command: str = "{python} server.py --host {host} --port {port}"
    server_ready: str = "listening on"  # regex on the server's output; "" = probe the port
    fixed_port: int = 0  # the server ignores {port} and always uses this one
    fixed_host: str = ""  # the address the code hard-codes ("" = whatever it is told)
    history_option: str = "--history {n}"
    client_command: str = "{python} client.py --host {host} --port {port} --nick {nick}"
    client_command_prompt: str = "{python} client.py --host {host} --port {port}"
    client_prompt: str = "Nickname: "  # what the client shows when it asks for a nickname
    client_disconnected: str = "*** disconnected from server"
    client_stdin: tuple[str, ...] = ()  # lines typed at start ({host}, {port}, {nick})
    greeting: str = ""  # what the server sends before the nickname ("" = client speaks first)
    register: str = "{nick}"  # the line a client sends to register
    welcome: str = "*** welcome {nick}"
    registers: bool = True  # False: the client never sends a nickname of its own
    assigned_name: str = ""  # the server names connections itself: "user{n}", n = 1, 2…
    chat: str = "{nick}: {text}"
    echo: bool = False  # the sender gets its own line back
    joined: str = "*** {nick} joined the chat"
    left: str = "*** {nick} left the chat"
    framing: str = "newline"  # "newline", "none" (one send() = one message) or "length10"
    max_line: int = 4096  # bytes; 0 = no limit to check
    error_prefix: str = "*** error: "
    chat_out: str = "{text}"  # what a client sends for a chat message ({nick}, {text})
    self_join: bool = False  # the newcomer receives its own join announcement too
    log_join: str = "[join] {nick} {ip}:{port}"
    log_leave: str = "[leave] {nick} {ip}:{port}"
    quit: str = "/quit"
    users: str = "*** online: {nicks}"
    users_separator: str = ", "
    users_command: str = "/users"
    quit_reply: str = ""  # what the server sends after the quit command, before it closes
    whisper: str = "/w {nick} {text}"
    whisper_line: str = "{sender} (whisper): {text}"
    unknown_command_errors: bool = True
    nickname_rules: bool = True  # invalid and duplicate nicknames are refused

    # -- what this profile can express ------------------------------------------------

    def missing(self, feature: str) -> str | None:
        """Why ``feature`` cannot be checked under this profile, or None if it can."""
        no_nick_option = ("{nick}" not in self.client_command
                          and not any("{nick}" in a for a in self.client_stdin))
        absent = {
            "welcome": (not self.welcome, "handshake.welcome is empty (no welcome line)"),
            "registers": (not self.registers,
                          "handshake.registers is false (clients send no nickname)"),
            "chosen_name": (bool(self.assigned_name),
                            "handshake.assigned_name is set (the server names clients)"),
            "joined": (not self.joined, "chat.joined is empty (joins are not announced)"),
            "left": (not self.left, "chat.left is empty (leaves are not announced)"),
            "framing": (self.framing != "newline", "chat.framing is not 'newline'"),
            "segments": (self.framing == "none",
                         "chat.framing is 'none' (unframed): one recv() is one message, so"
                         " a message sent in pieces is several and messages sent together"
                         " are one"),
            "no_echo": (self.echo, "chat.echo is true (the sender gets its own line back)"),
            "echo": (not self.echo, "chat.echo is false"),
            "log": (not (self.log_join and self.log_leave), "the [log] formats are empty"),
            "max_line": (not self.max_line, "chat.max_line is 0 (no line limit)"),
            "users": (not self.users, "commands.users is empty"),
            "whisper": (not self.whisper, "commands.whisper is empty"),
            "history": (not self.history_option, "server.history_option is empty"),
            "quit": (not self.quit, "commands.quit is empty"),
            "unknown_command": (not self.unknown_command_errors,
                                "commands.unknown_command_errors is false"),
            "nickname_rules": (not self.nickname_rules, "commands.nickname_rules is false"),
            "nick_option": (no_nick_option,
                            "client.command has no {nick} option and client.stdin no"
                            " {nick} answer"),
            "client_name": (no_nick_option
                            and not (self.assigned_name and "{nick}" in self.welcome),
                            "the client is given no nickname (client.command has no {nick}"
                            " option, client.stdin no {nick} answer) and the server names"
                            " nobody in its welcome (handshake.assigned_name)"),
            "client_prompt": (not self.client_prompt, "client.prompt is empty"),
            "client_disconnected": (not self.client_disconnected, "client.disconnected is empty"),
            "chatlab": (self.name != "chatlab",
                        "cross-play with the reference solution needs chatlab's protocol"),
        }
        if feature.startswith("chatlab:"):  # a rule only lab/PROTOCOL.md has
            rule = CHATLAB_RULES[feature.removeprefix("chatlab:")]
            absent[feature] = (self.name != "chatlab",
                               f"{rule} is a rule of chatlab's protocol (lab/PROTOCOL.md),"
                               " which a profile does not describe")
        if feature not in absent:
            raise KeyError(f"unknown profile feature {feature!r}")
        lacking, why = absent[feature]
        return f"profile '{self.name}': {why}" if lacking else None

    # -- words ----------------------------------------------------------------------

    def speak(self, text: str) -> str:
        """A check's title or hint, written for chatlab, in this profile's formats:
        its own lines instead of chatlab's, no PROTOCOL.md paragraphs, no notebooks
        (another course has neither). A message stays one: the profile's lines replace
        chatlab's once it is translated (they are the same in every language)."""
        if self.name == "chatlab" or not text:
            return text
        if isinstance(text, Text):
            text = _without_reading(text)
            if isinstance(text, Text):
                return text.replaced(self._own_words().items())
        for chatlab, own in self._own_words().items():
            text = text.replace(chatlab, str(own))
        text = re.sub(r"^Read notebooks/\S+, section '.*?'(?:, and PROTOCOL\.md [^.]*?)?"
                      r"\.(?:\s+|$)", "", text)
        text = re.sub(r"\s*\(?PROTOCOL\.md §[\d–\-, and§]*\)?", "", text)
        return text

    def _own_words(self) -> dict[str, str]:
        """chatlab's lines and words in titles and hints -> this profile's."""

        def shown(template: str, fallback: str) -> str:
            if not template:
                return fallback
            return "`" + self.fill(template, nick="<nick>", text="<text>", sender="<nick>",
                                   nicks="<nicks>") + "`"

        return {
            "`*** welcome <nick>`": shown(self.welcome, L_("a welcome")),
            "`*** <nick> joined the chat`": shown(self.joined, L_("an announcement")),
            "`<nick>: <text>`": shown(self.chat, L_("the profile's chat format")),
            "`/quit`": f"`{self.quit}`" if self.quit else L_("the quit command"),
            "`/users`": f"`{self.users_command}`",
            "`/w <nick> <text>`": shown(self.whisper, L_("a whisper")),
            "`[join]` and `[leave]` lines": L_("join and leave log lines"),
            "`listening on …`": (f"`{self.server_ready}`" if self.server_ready
                                 else L_("its ready line")),
            "the `--nick` nickname": L_("the nickname"),
            "`--nick`": L_("a nickname"),
            "'*** error: …'": f"'{self.error_prefix}…'" if self.error_prefix else L_("an error"),
            "f'[join] {nick} {ip}:{port}'": repr(self.log_join) if self.log_join else L_("a line"),
            "the [leave] line": L_("the leave line"),
            "nick + ': ' + text": shown(self.chat, L_("the chat format")),
            "/quit": self.quit or L_("the quit command"),
            "*** error: ": self.error_prefix,
        }

    # -- formatting -----------------------------------------------------------------

    @staticmethod
    def fill(template: str, **fields: object) -> str:
        """``template`` with ``fields`` filled in, and ``{time}`` as :data:`CLOCK_SHOWN`."""
        return template.format(time=CLOCK_SHOWN, **fields)

    @property
    def clock(self) -> bool:
        """Whether a line the server sends may carry its clock (``{time}``)."""
        return any("{time}" in t for t in (self.chat, self.joined, self.left, self.welcome,
                                            self.whisper_line, self.users))

    def chat_line(self, nick: str, text: str) -> str:
        return self.fill(self.chat, nick=nick, text=text)

    def joined_line(self, nick: str) -> str:
        return self.fill(self.joined, nick=nick)

    def left_line(self, nick: str) -> str:
        return self.fill(self.left, nick=nick)

    def welcome_line(self, nick: str) -> str:
        return self.fill(self.welcome, nick=nick)

    def register_line(self, nick: str) -> str:
        return self.fill(self.register, nick=nick)

    def chat_sent(self, nick: str, text: str) -> str:
        """What a client sends for the chat message ``text``."""
        return self.fill(self.chat_out, nick=nick, text=text)


def log_pattern(template: str, *, nick: str | None = None, ip: str | None = None,
                port: int | None = None, loose: bool = False) -> str:
    """A regex for a server log line like ``[join] {nick} {ip}:{port}``: each field
    given must be exactly that, the others any word; a port not given is captured
    (group 1), which tells the connections apart.

    ``loose``: the words of the line may have anything between them, newlines too.
    ``print(a, b)`` writes ``a``, the space and ``b`` one by one, so two threads that
    print at once mix their lines word by word; search the output, not one line."""
    if loose:
        words = [("(?<!\\d)" if word.startswith("{port}") else "")  # 5555, not 15555
                 + log_pattern(word, nick=nick, ip=ip, port=port) for word in template.split()]
        return r"[\s\S]*?".join(words)
    pattern = re.escape(template)
    for key, value, anything in (("nick", nick, r"\S+"), ("ip", ip, r"\S+"),
                                 ("port", port, r"(\d+)")):
        exact = None if value is None else re.escape(str(value))
        if exact and key == "port":
            exact += r"(?!\d)"  # 4444, not 44445
        pattern = pattern.replace(re.escape("{" + key + "}"), exact or anything)
    return pattern


def load_profile(path: str | Path | None = None) -> Profile:
    """Read a profile TOML file (the chatlab default when ``path`` is None).

    A short name such as ``"nick_token"`` means ``grader/profiles/nick_token.toml``.
    Unknown sections or keys raise ValueError naming the key and the file.
    """
    if path is None:
        path = DEFAULT_PROFILE
    path = Path(path)
    if not path.suffix and not path.exists():
        path = PROFILES_DIR / f"{path}.toml"
    with open(path, "rb") as f:
        data = tomllib.load(f)
    types = {f.name: f.type for f in fields(Profile)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in _SECTIONS or not key:
                raise ValueError(f"{path}: unknown section [{key}]")
            for sub, subvalue in value.items():
                if sub not in _SECTIONS[key]:
                    raise ValueError(f"{path}: unknown key {sub!r} in [{key}]")
                values[_SECTIONS[key][sub]] = subvalue
        elif key in _SECTIONS[""]:
            values[_SECTIONS[""][key]] = value
        else:
            raise ValueError(f"{path}: unknown top-level key {key!r}")
    for name, value in values.items():
        if str(types[name]) == "tuple[str, ...]":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{path}: {name} must be a list of strings, not {value!r}")
            values[name] = tuple(value)
            continue
        wanted = {"bool": bool, "int": int, "str": str}[str(types[name])]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise ValueError(f"{path}: {name} must be a {wanted.__name__}, not {value!r}")
    if "framing" in values:
        values["framing"] = FRAMING_SYNONYMS.get(values["framing"], values["framing"])
    if values.get("framing", "newline") not in FRAMINGS:
        raise ValueError(f"{path}: chat.framing must be one of {', '.join(FRAMINGS)},"
                         f" not {values['framing']!r}")
    return Profile(**values)  # type: ignore[arg-type]


def _without_reading(text: Text) -> str:
    """A hint without the sentence that says what to read (a notebook, PROTOCOL.md)."""
    from .registry import is_reading

    if is_reading(text):
        return ""
    if text.msgid == SENTENCES and is_reading(text.fields["first"]):
        return text.fields["second"]
    return text
