"""End to end: the student's server with the student's clients, and cross-play with the
reference solution (student client with the reference server, and the other way)."""

from __future__ import annotations

import time
from pathlib import Path

from ..actors.student_client import ClientSession
from ..context import Context, Server
from ..failures import Crashed, NotApplicable
from ..messages import L_
from ..profile import log_pattern
from ..registry import check
from .client import await_exit
from .common import hint

STEP = 5
E2E_DEPS = ["client.sends_lines", "client.shows_incoming"]


def _chat(ctx: Context, server: Server, client_folder: Path | None,
          nicks: tuple[str, ...] = ("ana", "bob", "cid")) -> None:
    """``nicks`` chat through ``server`` using the clients in ``client_folder``: the
    first one speaks, the others see it; the last one quits, the first sees it leave."""
    clients: list[ClientSession] = []
    names: dict[ClientSession, str] = {}  # the server's name for each client
    for nick in nicks:
        if ctx.profile.assigned_name and client_folder is None:
            # Nobody chooses a name: the client is started without one and the name is
            # read from its welcome.
            client = ctx.client(server.port, None, name=nick)
            names[client] = client.expect_screen_match(
                ctx.assigned_welcome, what=L_("{nick}'s welcome, with the name the server"
                                              " gave it", nick=nick)).group(1)
        else:
            client = ctx.client(server.port, nick, name=nick, folder=client_folder)
            names[client] = nick
            _await_registered(ctx, server, client, first=not clients)
        for earlier in clients:
            earlier.expect_screen(ctx.profile.joined_line(names[client]),
                                  what=L_("the announcement that {nick} joined",
                                          nick=names[client]))
        clients.append(client)
    first, last = clients[0], clients[-1]
    marks = [c.cursor() for c in clients]
    text = f"hello from {first.name}"
    first.type_line(text)
    # Only the text: the exact line format is server.prefix's business. (Typed text is
    # looked for on the *other* clients' screens, so no terminal echo can fake it.)
    for client, mark in zip(clients[1:], marks[1:], strict=True):
        client.expect_screen(text, since=mark, what=f"{first.name}'s line {text!r}")
    mark = first.cursor()
    if ctx.profile.quit:
        last.type_line(ctx.profile.quit)
        await_exit(last, 1.0, f"typing {ctx.profile.quit!r}")
    else:  # no quit command: the user leaves with Ctrl-D
        last.type_eof()
        await_exit(last, 1.0, "Ctrl-D")
    first.expect_screen(ctx.profile.left_line(names[last]), since=mark,
                        what=L_("the announcement that {last} left", last=names[last]))
    for client in clients:
        if client.has_traceback():
            raise Crashed(L_("{client}'s client printed a traceback.", client=client.name))


def _await_registered(ctx: Context, server: Server, client: ClientSession, *,
                      first: bool) -> None:
    """Wait until the server has taken ``client``'s nickname, so that the next client's
    join reaches it. A welcome or the newcomer's own join notice says so on its screen;
    for the first client, which nobody else sees join, the server's join log line does
    where the profile gives one. (Later clients: the earlier ones see them join.)"""
    nick, profile = client.name, ctx.profile
    if profile.welcome:
        client.expect_screen(profile.welcome_line(nick), what=L_("{nick}'s welcome", nick=nick))
    elif profile.self_join and profile.joined:
        client.expect_screen(profile.joined_line(nick),
                             what=L_("the announcement that {nick} joined, on its own"
                                     " screen", nick=nick))
    elif first and profile.log_join:
        pattern = log_pattern(profile.log_join, nick=ctx.real_name(nick))
        server.program.wait_line(pattern, time.monotonic() + ctx.timing.hard)


@check("e2e.chat", step=STEP, points=2,
       depends=["server.broadcast", "server.join_announced", *E2E_DEPS],
       needs=["client_name", "joined", "left"], cost=4,
       hint=hint("Putting it together", "§9", "Run your server and three clients in"
                 " three terminals and replay the scenario below."))
def chat(ctx: Context) -> None:
    """three of your clients chat through your server"""
    _chat(ctx, ctx.server, None)


def _reference(ctx: Context, name: str) -> Path:
    ref = ctx.submission.reference
    if ref is None or not (ref / name).is_file():
        raise NotApplicable(L_("the reference {name} is not available", name=name))
    if ref.resolve() == ctx.submission.original.resolve():
        raise NotApplicable(L_("the submission is the reference solution itself"))
    return ref


@check("e2e.client_with_reference_server", step=STEP, points=1, depends=E2E_DEPS,
       needs=["chatlab"], cost=4,
       hint=hint("Putting it together", "§8", "Your client must work with any server"
                 " that follows PROTOCOL.md."))
def client_with_reference_server(ctx: Context) -> None:
    """your client chats through the reference server"""
    ref = _reference(ctx, "server.py")
    server = ctx.start_server(folder=ref, command=ctx.profile.server_command)
    _chat(ctx, server, None, ("ana", "bob"))


@check("e2e.server_with_reference_client", step=STEP, points=1,
       depends=["server.broadcast", "server.join_announced"], needs=["chatlab"], cost=4,
       hint=hint("Broadcast", "§2–§4", "The reference client must work with your server.",
                 step=4))
def server_with_reference_client(ctx: Context) -> None:
    """the reference client chats through your server"""
    ref = _reference(ctx, "client.py")
    _chat(ctx, ctx.server, ref, ("ana", "bob"))
