"""What a check gets: the submission, the profile, deadlines, and helpers that start
servers, connect fake clients, spawn the student's client, and clean everything up.

A check is a plain function of a :class:`Context`::

    def broadcast(ctx):
        ana, bob, cid = ctx.room("ana", "bob", "cid")
        ctx.say(ana, "hello")
        ctx.expect_chat(bob, "ana", "hello")

Each check gets its own context and its own clients: checks never see each other's
clients. A check may get a server an earlier check passed on (see :mod:`grader.harness.servers`);
one that must not (it measures the server's threads, CPU or whole output) is declared
with ``own_server=True``. Likewise a client check may get the client program an earlier
one passed with (see :mod:`grader.actors.client_pool`). Everything started through the
context is stopped when the check ends, except a server or a client handed back.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .actors.client_pool import ClientPool, HeldClient
from .actors.fake_client import Peer
from .actors.fake_server import FakeServer
from .actors.student_client import ClientSession
from .actors.transcript import Transcript
from .failures import Crashed, Hung, Mismatch, ResourceLimit
from .harness.programs import Program, Reaper, describe_limit
from .harness.servers import (
    HOST,
    Server,
    ServerPool,
    Submission,
    launch_server,
    render_command,
    without_nick,
)
from .messages import L_
from .profile import Profile, log_pattern
from .timing import Timing

LENIENT_SLACK = 12  # characters a chat line's prefix may differ by, unframed

# Programs a check starts, named in messages.
PROGRAMS = {"server": L_("server"), "test program": L_("test program")}
WITHIN_LIMITS = {"server": L_("a server within the limits"),
                 "client": L_("a client within the limits")}

__all__ = ["Context", "Server", "ServerPool", "Submission", "render_command", "without_nick"]


class Context:
    """Per-check helpers; see the module docstring."""

    def __init__(
        self,
        submission: Submission,
        profile: Profile,
        timing: Timing,
        *,
        pool: ServerPool | None = None,
        reaper: Reaper | None = None,
        share: bool = False,
        clients: ClientPool | None = None,
        share_client: bool = False,
        from_pool: bool = True,
    ) -> None:
        self.submission = submission
        self.profile = profile
        self.timing = timing
        self.transcript = Transcript()
        self._pool = pool
        self._reaper = reaper
        self._share = share  # may take a server that served earlier checks
        self._from_pool = from_pool  # False: start its own server, but it may go back
        self._client_pool = clients
        self._share_client = share_client  # may take a client that served earlier checks
        self._held: HeldClient | None = None  # the client to hand on if the check passes
        self.shared_client = False  # the check runs on a client that served earlier ones
        self._servers: list[Server] = []
        self._peers: list[Peer] = []
        self._clients: list[ClientSession] = []
        self._fakes: list[FakeServer] = []
        self._programs: list[Program] = []  # started and not yet stopped
        self._all_programs: list[Program] = []  # for their output
        self._lock = threading.Lock()
        self._server: Server | None = None
        self.closed = False
        # Lenient (default): a chat line matches if it ends with the text, and an echo or
        # a self-announcement is skipped, so those mistakes fail only the check made
        # for them (server.prefix, server.no_echo, server.join_announced: strict).
        self.lenient = True
        self.exact_format = False  # chat lines must match the format exactly
        self.said: list[tuple[str, str]] = []  # (nick, text) of every chat line sent
        self.registered: list[str] = []  # nicknames registered so far, in order
        self._late_joins: list[tuple[Callable[[str], bool], str]] = []  # see register
        # The server's names for the peers (assigned_name) -> the peers' own.
        self.aliases: dict[str, str] = {}
        name = re.escape(profile.assigned_name).replace(re.escape("{n}"), r"\d+")
        # A welcome that names the newcomer (group 1), under a server that names them.
        self.assigned_welcome = re.compile(
            re.escape(profile.fill(profile.welcome.replace("{nick}", "\x00"))).replace(
                "\x00", f"({name})") if "{nick}" in profile.welcome else "$^")
        # The join announcement of a connection the server named and no peer is (yet)
        # known as: our peers' names are put back in before a line is judged.
        self.stranger_joined = (
            re.compile(re.escape(profile.joined_line("\x00")).replace("\x00", name))
            if profile.assigned_name and profile.joined and "{nick}" in profile.joined
            else None)

    # -- servers -------------------------------------------------------------------

    @property
    def server(self) -> Server:
        """This check's server, started on first use."""
        if self._server is None:
            pooled = (self._pool.get(self._share)
                      if self._pool is not None and self._from_pool else None)
            if pooled is not None:
                pooled.taken()
                command = shlex.join(pooled.program.argv)
                if pooled.checks_served:
                    self.transcript.add("grader", "reused", L_(
                        "{command} (running since an earlier check, which left no client"
                        " behind)", command=command))
                else:
                    self.transcript.add("grader", "started", command)
                self._own(pooled.program)
                self._servers.append(pooled)
                self._server = pooled
            else:
                self._server = self.start_server()
                self._server.taken()
        return self._server

    def start_server(
        self, *extra: str, history: int | None = None, folder: Path | None = None,
        command: str | None = None,
    ) -> Server:
        """Start a server (the submission's unless ``folder``/``command`` say otherwise)
        and wait until it listens. Raises Crashed or Hung if it does not."""
        template = command or (
            self.submission.server_cmd if folder is None and self.submission.server_cmd
            else self.profile.server_command
        )
        if history is not None:
            template += " " + self.profile.history_option.format(n=history)
        note = lambda cmd: self.transcript.add("grader", "started", cmd)  # noqa: E731
        self._check_open()
        try:
            server, program, port = launch_server(
                self.submission, self.profile, self.timing, template, folder, extra, note,
                self._own)
        except OSError as error:
            raise Crashed(L_("The server could not be started: {error}.", error=str(error)),
                          expected=L_("a running server"), actual=str(error)) from None
        if server is not None:
            self._servers.append(server)
            return server
        status = program.poll()
        output = program.output()
        if program.limit_exceeded:
            raise ResourceLimit(
                describe_limit(program.limit_exceeded, program.limits, "server"),
                expected=L_("a server within the limits"), actual=program.limit_exceeded,
            )
        if status is not None:
            raise Crashed(
                L_("The server exited with status {status} before it listened on port"
                   " {port}.", status=status, port=port),
                expected=f"'listening on {HOST}:{port}'",
                actual=self._last_line(output) or L_("exit status {status}, no output",
                                                     status=status),
            )
        raise Hung(
            L_("The server did not print 'listening on …' nor accept connections on port"
               " {port} within {seconds:.1f} s.", port=port, seconds=self.timing.start),
            expected=f"'listening on {HOST}:{port}'",
            actual=self._last_line(output) or L_("no output"),
        )

    def start_program(self, argv: list[str], cwd: Path, *, name: str) -> Program:
        """Start a helper program (a white-box test) in the sandbox; stopped with the
        check like every other process. Raises Crashed if it cannot be started."""
        self._check_open()
        program = Program(argv, cwd, name=name, jail=self.submission.jail)
        self.transcript.add("grader", "started", name)
        try:
            program.start()
        except OSError as error:
            raise Crashed(L_("The {program} could not be started: {error}.",
                             program=PROGRAMS.get(name, name), error=str(error))) from None
        self._own(program)
        return program

    def _own(self, program: Program) -> None:
        """Take charge of a just-started process; stop it at once if the check is over."""
        with self._lock:
            self._programs.append(program)
            self._all_programs.append(program)
        if self.closed:
            self.cleanup()

    def _check_open(self) -> None:
        if self.closed:
            raise Hung(L_("The scenario was stopped before it finished."))

    @staticmethod
    def _last_line(output: str) -> str:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    # -- fake clients --------------------------------------------------------------

    def connect(self, name: str, *, server: Server | None = None, rcvbuf: int | None = None,
                log: bool = True) -> Peer:
        """A raw connection to the server, nothing sent yet."""
        target = server or self.server
        peer = Peer(name, self.transcript, self.timing, framing=self.profile.framing)
        peer.chat_out, peer.clock = self.profile.chat_out, self.profile.clock
        if self.profile.assigned_name and "{nick}" in self.profile.welcome:
            peer.named, peer.aliases = self.assigned_welcome, self.aliases
        self._peers.append(peer)
        return peer.connect(target.host, target.port, rcvbuf=rcvbuf, log=log)

    def handshake(self, peer: Peer, nick: str, *, log: bool = True) -> None:
        """Wait for the profile's greeting (if any), then send the registration line
        (where the protocol has one); where the newcomer sees its own join announcement
        (``self_join``), take it: it says the nickname was taken."""
        greeting = self.profile.greeting
        if greeting and not peer.read_until(greeting, time.monotonic() + self.timing.hard):
            raise Hung(L_("{name} waited for the server's greeting {greeting}.",
                          name=peer.name, greeting=repr(greeting)),
                       expected=repr(greeting), actual=L_("nothing"))
        if self.profile.registers and not self.profile.assigned_name:
            peer.send_line(self.profile.register_line(nick), log=log)
        if self.profile.self_join and self.profile.joined:
            own = self.profile.joined_line(nick)
            peer.ignore = [(test, why) for test, why in peer.ignore if not test(own)]
            if self.profile.framing == "none":
                # Unframed, it may arrive glued to the welcome: take it off the front.
                line = peer.read_line(time.monotonic() + self.timing.soft, expected=own)
                if line is None or line == own:
                    return
                peer.unread(line)
            peer.ignore.insert(0, (lambda line: line == own, L_(
                "its own join announcement, which this protocol sends the newcomer"
                " (self_join)")))

    def register(self, nick: str, *, server: Server | None = None, log: bool = True) -> Peer:
        """Connect and register ``nick``; waits for the welcome line when there is one."""
        if nick in self.registered:  # a name used again: its join is news to everyone
            self.registered.remove(nick)
            late = self.profile.joined_line(nick)
            for other in self._peers:
                other.ignore = [entry for entry in other.ignore
                                if not (entry in self._late_joins and entry[0](late))]
        program = (server or self.server).program  # None for a server the test made
        since = program.line_count() if program is not None else 0
        peer = self.connect(nick, server=server, log=log)
        if self.lenient:  # a replay or a self-announcement is graded elsewhere
            if self.profile.joined:
                own = self.profile.joined_line(nick)
                peer.ignore.append((lambda line: line == own,
                                    L_("its own join announcement (server.join_announced"
                                       " grades that)")))
            peer.ignore.extend((self.chat(n, t), L_("a line sent before it joined"
                                                    " (server.no_replay grades that)"))
                               for n, t in self.said)
            if self.profile.joined and self.profile.name != "chatlab":
                # Another course's server may announce a join to whoever is in the room
                # by the time it gets round to it: this newcomer may hear of one that
                # came before it. (Chatlab's protocol forbids it: server.join_announced.)
                peer.ignore.extend(self._late_join(n) for n in self.registered)
                if self.stranger_joined is not None:
                    # Where the server names connections, one that never registers
                    # (a silent one) is a member too, and its arrival may be announced.
                    peer.ignore.append((self.stranger_joined.fullmatch, L_(
                        "the announcement that a connection the server named, not one of"
                        " the test's clients, joined")))
        self.handshake(peer, nick, log=log)
        if self.profile.self_join and self.profile.joined and not self.profile.welcome:
            self._await_own_join(peer, nick)
        if self.profile.welcome:
            extra = []
            if self.profile.name != "chatlab":
                # Another course's server may announce others' comings and goings
                # before the welcome: only chatlab's protocol says it is the first line.
                extra = [(test, L_("another client's announcement, before the welcome"))
                         for test in self._announcements()] * 3
                peer.ignore.extend(extra)
            try:
                peer.expect_line(self.profile.welcome_line(nick), what=L_("the welcome line"),
                                 why=self.rule(L_("the welcome is the first line after the"
                                                  " nickname"), "§2"))
            finally:
                peer.ignore = [entry for entry in peer.ignore if entry not in extra]
        if self.profile.name != "chatlab" and self.profile.log_join and program is not None:
            # Another course's server may welcome a client before it adds it to the room
            # (chatlab's may not: §2); its join log line is the surest sign it is in.
            # A server that never prints it is server.log_lines' business.
            program.wait_text(
                log_pattern(self.profile.log_join, nick=self.real_name(nick), ip=HOST,
                            port=peer.local_port, loose=True),
                time.monotonic() + self.timing.soft, since=since)
        self.registered.append(nick)
        return peer

    def _late_join(self, nick: str) -> tuple[Callable[[str], bool], str]:
        late = self.profile.joined_line(nick)
        entry = (lambda line: line == late,
                 L_("the announcement that {nick}, who came before it, joined", nick=nick))
        self._late_joins.append(entry)
        return entry

    def _announcements(self) -> list[Callable[[str], bool]]:
        """Tests for any client's join or leave announcement."""
        tests = []
        for template in (self.profile.joined, self.profile.left):
            if template and "{nick}" in template:
                marked = self.profile.fill(template.replace("{nick}", "\x00"))
                pattern = re.compile(re.escape(marked).replace("\x00", r"\S+"))
                tests.append(lambda line, p=pattern: bool(p.fullmatch(line)))
        return tests

    def _await_own_join(self, peer: Peer, nick: str) -> None:
        """Barrier where the newcomer's own join announcement is all it gets: wait for
        it (others' announcements may come first, and are passed over)."""
        own = self.profile.joined_line(nick)
        peer.ignore = [(test, why) for test, why in peer.ignore if not test(own)]
        for _ in range(10):
            line = peer.expect_line(what=L_("{nick}'s own join announcement {line}",
                                            nick=nick, line=repr(own)),
                                    why=L_("Profile '{profile}': the newcomer is told of its"
                                           " own arrival (chat.self_join).",
                                           profile=self.profile.name))
            if line == own:
                return
        raise Mismatch(L_("{nick} never got its own join announcement.", nick=nick),
                       expected=repr(own),
                       actual=line)

    def real_name(self, nick: str) -> str:
        """The server's name for the peer ``nick`` (its own, unless the server names
        connections itself)."""
        for theirs, ours in self.aliases.items():
            if ours == nick:
                return theirs
        return nick

    def rule(self, words: str, section: str) -> str:
        """A protocol rule (a message) for a failure message: PROTOCOL.md's under
        chatlab, the profile's under another protocol (whose document this kit does not
        know)."""
        if self.profile.name == "chatlab":
            return L_("PROTOCOL.md {section}: {rule}.", section=section, rule=words)
        return L_("Profile '{profile}': {rule}.", profile=self.profile.name, rule=words)

    def await_joined(self, newcomer: Peer, members: list[Peer]) -> None:
        """Barrier: after this, every line the members send reaches ``newcomer``.

        The newcomer says something and each member must receive it (skipping the join
        announcement before it): the server handles the newcomer's lines only once it
        has registered it. Strict checks (``lenient`` off) instead require the join
        announcement itself as each member's next line.
        """
        if not members:
            return
        if self.profile.joined and not self.lenient:
            for member in members:
                member.expect_line(self.profile.joined_line(newcomer.name),
                                   what=L_("the announcement that {nick} joined",
                                           nick=newcomer.name))
            return
        text = f"{newcomer.name} is here"
        self.say(newcomer, text)
        joined = self.profile.joined_line(newcomer.name) if self.profile.joined else None
        for member in members:
            line = self.expect_chat_or(member, newcomer.name, text, joined)
            if line == joined:
                self.expect_chat(member, newcomer.name, text)

    def expect_chat_or(self, peer: Peer, nick: str, text: str, other: str | None) -> str:
        """``nick``'s chat line ``text``, or ``other`` first (the caller handles it)."""
        chat = self.chat(nick, text)
        return peer.expect_line(accept=lambda line: chat(line) or line == other,
                                what=repr(self.profile.chat_line(nick, text)))

    def room(self, *nicks: str, server: Server | None = None) -> list[Peer]:
        """Register ``nicks`` one after another, each newcomer seen by everyone before."""
        peers: list[Peer] = []
        for nick in nicks:
            peer = self.register(nick, server=server)
            if not peers:
                self.await_registered(peer, server or self.server)
            self.await_joined(peer, peers)
            peers.append(peer)
        return peers

    def await_registered(self, peer: Peer, server: Server) -> None:
        """Barrier for the first client of a room: the server has taken its nickname.

        Later clients are covered by :meth:`await_joined`, but the first has nobody to
        see it. A welcome line says it (:meth:`register` waits for it); otherwise its own
        echoed line does, or the server's ``[join]`` log line. Without any of these, a
        line sent by the next client may reach the server before this nickname does."""
        if self.profile.welcome or (self.profile.self_join and self.profile.joined):
            return  # register() or handshake() waited for it
        if self.profile.echo:
            self.say(peer, f"{peer.name} is here")
        elif self.profile.log_join and "{port}" in self.profile.log_join:
            pattern = log_pattern(self.profile.log_join, nick=self.real_name(peer.name),
                                  port=peer.local_port)
            server.program.wait_line(pattern, time.monotonic() + self.timing.hard)

    def say(self, peer: Peer, text: str) -> None:
        """Send a chat line; under an echo profile, also take the sender's copy."""
        peer.send_chat(text)
        self.said.append((peer.name, text))
        if self.profile.echo:
            self.expect_chat(peer, peer.name, text,
                             why=L_("This profile echoes to the sender."))
        elif self.lenient:
            peer.ignore.append((self.chat(peer.name, text),
                                L_("an echo of its own line (server.no_echo grades that)")))

    def chat(self, nick: str, text: str) -> Callable[[str], bool]:
        """Whether a line is ``nick``'s chat line ``text`` (leniently: see ``lenient``)."""
        exact = self.profile.chat_line(nick, text)
        if self.exact_format:
            return lambda line: line == exact
        if self.profile.framing == "none":
            # Unframed, a line ending in the text may be two messages glued: only a
            # prefix about as long as the profile's is taken for a different format.
            slack = len(exact) - len(text) + LENIENT_SLACK
            return lambda line: line == exact or (line.endswith(text)
                                                  and len(line) - len(text) <= slack)
        return lambda line: line == exact or line.endswith(text)

    def expect_chat(self, peer: Peer, nick: str, text: str, *, why: str = "") -> str:
        """Require ``nick``'s chat line ``text`` as ``peer``'s next line."""
        return peer.expect_line(accept=self.chat(nick, text),
                                what=repr(self.profile.chat_line(nick, text)), why=why)

    # -- client side ---------------------------------------------------------------

    def fake_server(self) -> FakeServer:
        fake = FakeServer(self.transcript, self.timing, self.profile.fixed_host or HOST,
                          port=self.profile.fixed_port if self.profile.fixed_host else 0,
                          framing=self.profile.framing)
        self._fakes.append(fake)
        return fake

    def client(self, port: int, nick: str | None = None, *, name: str = "client",
               folder: Path | None = None) -> ClientSession:
        """Spawn a client (the submission's unless ``folder``) under a pty."""
        template = (self.submission.client_cmd if folder is None and self.submission.client_cmd
                    else self.profile.client_command)
        if nick is None and "{nick}" in template:  # else it never takes one
            template = (without_nick(template) if self.submission.client_cmd and folder is None
                        else self.profile.client_command_prompt)
        argv = render_command(template, self.submission.python, host=HOST, port=port,
                              nick=nick or "")
        self._check_open()
        session = ClientSession(argv, str(folder or self.submission.folder), self.transcript,
                                self.timing, name=name, jail=self.submission.jail)
        self._clients.append(session)
        if self.closed:
            session.stop()
            self._check_open()
        if folder is None:
            # A client that asks on standard input what others take as options: the
            # answers are typed ahead (without a nickname, up to the one that is it).
            for answer in self.profile.client_stdin:
                if nick is None and "{nick}" in answer:
                    break
                session.type_line(answer.format(host=HOST, port=port, nick=nick or ""))
        return session

    def held_client(self, nick: str, *, typed: bool = False
                    ) -> tuple[ClientSession, Peer] | None:
        """A client an earlier check passed with, welcomed as ``nick`` and waiting for
        input, with its connection to the fake server; None: start one. ``typed``: the
        check types before it looks at anything, so a client typed into will do."""
        if self._client_pool is None or not self._share_client:
            return None
        self._check_open()
        held = self._client_pool.get(nick, typed=typed)
        if held is None:
            return None
        held.hand_to(self.transcript, self.timing)
        self.transcript.add("grader", "reused", L_(
            "{command} (running since an earlier check, which left it waiting for input)",
            command=held.session.command))
        with self._lock:
            self._clients.append(held.session)
            self._fakes.append(held.fake)
        self._held, self.shared_client = held, True
        if self.closed:
            self.cleanup()
            self._check_open()
        return held.session, held.conn

    def offer_client(self, client: ClientSession, fake: FakeServer, conn: Peer,
                     nick: str) -> None:
        """Note that ``client``, just welcomed as ``nick``, may serve later checks."""
        if self._client_pool is not None:
            self._held = HeldClient(client, fake, conn, nick)

    def keep_client(self) -> HeldClient | None:
        """Take this check's client out of :meth:`cleanup`'s hands, to give it back to
        the pool; None if there is none to give."""
        held = self._held
        if held is None:
            return None
        with self._lock:
            if held.session not in self._clients or held.fake not in self._fakes:
                return None
            self._clients.remove(held.session)
            self._fakes.remove(held.fake)
        return held

    def accept(self, fake: FakeServer, client: ClientSession) -> Peer:
        """The client's connection to the fake server; a client that exits first is
        reported with what it printed (a SyntaxError, a missing module, a refusal)."""
        try:
            return fake.accept(is_alive=client.child.isalive)
        except Hung as hung:
            client.read_rest(0.2, time.monotonic() + self.timing.of(1.0))
            raise Hung(hung.message, expected=hung.expected,
                       actual=client.screen.strip()[-1500:] or "nothing on the screen"
                       ) from None

    # -- the end -------------------------------------------------------------------

    @property
    def shared_server(self) -> bool:
        """Whether this check ran on a server that served earlier checks."""
        return self._server is not None and self._server.checks_served > 0

    def keep_server(self) -> Server | None:
        """Take this check's pooled server out of :meth:`cleanup`'s hands, to give it
        back to the pool; None if there is none to give (not pooled, or exited)."""
        server = self._server
        if self._pool is None or server is None or server.program.poll() is not None:
            return None
        with self._lock:
            if server.program not in self._programs:
                return None
            self._programs.remove(server.program)
        return server

    def crashed_server(self, grace: float = 0.0) -> Server | None:
        """A server of this check that has exited, if any. With ``grace``, give a dying
        server that long to finish exiting (its sockets close a moment before)."""
        deadline = time.monotonic() + grace
        for server in self._servers:
            if server.program.wait_exit(max(0.0, deadline - time.monotonic())) is not None:
                return server
        return None

    def limit_exceeded(self) -> ResourceLimit | None:
        """The failure to report when a limit stopped one of this check's programs."""
        with self._lock:
            programs = list(self._all_programs)
        for program in programs:
            if program.limit_exceeded:
                return ResourceLimit(
                    describe_limit(program.limit_exceeded, program.limits, program.name),
                    expected=WITHIN_LIMITS.get(program.name) or L_(
                        "a {program} within the limits", program=program.name),
                    actual=program.limit_exceeded,
                )
        for client in self._clients:
            if client.limit_exceeded:
                return ResourceLimit(
                    describe_limit(client.limit_exceeded, client.limits, "client"),
                    expected=WITHIN_LIMITS["client"], actual=client.limit_exceeded,
                )
        return None

    def settle_output(self, quiet: float, deadline: float, crash_deadline: float) -> None:
        """Wait until no program of this check has printed for ``quiet`` seconds (or
        every one has ended), but not past ``deadline``. If the server closed one of
        the check's connections, it may be dying: then wait, until ``crash_deadline``,
        for it to exit or print a traceback (a program that closes its sockets with a
        lingering close prints it only afterwards)."""
        if any(peer.eof in ("closed", "reset") for peer in self._peers):
            for server in self._servers:
                program = server.program
                while (time.monotonic() < crash_deadline and program.poll() is None
                       and not program.has_traceback()):
                    program.wait_line("", crash_deadline, since=program.line_count())
            deadline = max(deadline, min(crash_deadline, time.monotonic() + quiet))
        for client in self._clients:
            client.read_rest(quiet, deadline)
        for program in self._all_programs:
            if program.poll() is not None:  # ended: read what it printed to the end
                program.wait_output_end(deadline)
        while time.monotonic() < deadline:
            programs = [p for p in self._all_programs if p.poll() is None]
            counts = [p.line_count() for p in programs]
            wake = min(deadline, time.monotonic() + quiet)
            printed = [p.wait_line("", wake, since=n)
                       for p, n in zip(programs, counts, strict=True)]
            if not any(printed):
                return

    def program_output(self) -> str:
        """Tails of what the servers and clients printed, labelled, for the student."""
        parts = []
        for i, program in enumerate(self._all_programs):
            out = program.output().strip()
            if out:
                label = (program.name if len(self._all_programs) == 1
                         else f"{program.name} #{i + 1}")
                parts.append(f"--- {label} output ---\n{out}")
        for client in self._clients:
            if client.screen.strip():
                parts.append(f"--- {client.name} screen ---\n{client.screen.strip()}")
        return "\n".join(parts)[-64 * 1024:]

    def cleanup(self) -> None:
        """Close every connection and stop every process this check started (again
        safe to call: a process registered after the first call is stopped too)."""
        self.closed = True
        for peer in self._peers:
            peer.close(log=False)
        for fake in self._fakes:
            fake.close()
        for client in self._clients:
            client.stop()
        while True:
            with self._lock:
                if not self._programs:
                    break
                program = self._programs.pop()
            if self._reaper is not None:
                self._reaper.stop_later(program)
            else:
                program.stop()
