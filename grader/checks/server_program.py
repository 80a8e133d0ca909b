"""The server as a program (PROTOCOL.md §7): the port it prints, and how it stops."""

from __future__ import annotations

import os
import signal
import time

from ..actors.fake_client import Peer
from ..context import Context, Server, render_command
from ..failures import Crashed, Hung, Mismatch, Missing, NotApplicable
from ..harness.servers import HOST
from ..messages import L_, sentences
from ..model import Level
from ..registry import check
from .common import expect_next, hint, impatient

SHUTDOWN_LINE = "*** server shutting down"  # PROTOCOL.md §7
LISTENING = r"listening on (\S+):(\d+)"


def _status(status: int) -> str:
    """An exit status in words: a negative one is the signal that ended the program."""
    if status >= 0:
        return L_("status {status}", status=status)
    try:
        name = signal.Signals(-status).name
    except ValueError:
        name = L_("signal {number}", number=-status)
    return L_("status {status}, that is killed by {signal}", status=status, signal=name)


@check("server.port_zero", step=1, points=1, depends=["server.starts"], needs=["chatlab:port_zero"],
       hint=hint("Listening", "§7", "With --port 0 the system picks the port: print the one"
                 " getsockname() returns, not the 0 you were given."))
def port_zero(ctx: Context) -> None:
    """with `--port 0` the server prints `listening on <host>:<port>` with the port it got"""
    template = ctx.submission.server_cmd or ctx.profile.server_command
    argv = render_command(template, ctx.submission.python, host=HOST, port=0)
    program = ctx.start_program(argv, ctx.submission.folder, name="server")
    found = program.wait_line(LISTENING, time.monotonic() + ctx.timing.start)
    if found is None:
        last = [line for line in program.output().splitlines() if line.strip()]
        status = program.poll()
        kind = Crashed if status is not None else Hung
        raise kind(L_("Started with --port 0, the server did not print 'listening on"
                      " {host}:<port>' (it exited, {status}).", host=HOST, status=_status(status))
                   if status is not None else
                   L_("Started with --port 0, the server did not print 'listening on"
                      " {host}:<port>'.", host=HOST),
                   expected=L_("'listening on {host}:<the port it got>'", host=HOST),
                   actual=last[-1] if last else L_("no output"))
    host, port = found.group(1), int(found.group(2))
    ctx.transcript.add("server", "printed", found.group(0))
    if port == 0 or host != HOST:
        raise Mismatch(L_("Started with --port 0, the server must print the host it was given"
                          " and the port the system really picked (getsockname()), so that"
                          " clients know where to connect."),
                       expected=L_("'listening on {host}:<the port it got>'", host=HOST),
                       actual=found.group(0))
    try:  # as server.starts: a connection is accepted (registering is step 04's business)
        ctx.connect("probe", server=Server(program, port)).close()
    except Hung:
        raise Mismatch(L_("The server printed port {port}, but nothing accepts connections"
                          " there: print the port the listening socket really has.", port=port),
                       expected=L_("a server listening on port {port}", port=port),
                       actual=found.group(0)) from None


def _shutdown(ctx: Context, signum: signal.Signals) -> None:
    """``signum`` ends the server: every registered client gets the goodbye line, every
    connection closes, and the program exits with status 0. (A fresh server: the check
    ends it, and a verdict on a shared one would be judged again on a fresh one anyway.)"""
    name = signum.name
    server = ctx.server
    program = server.program
    lurker = ctx.connect("lurker")  # connected, no nickname: its socket must close too
    members = ctx.room("ana", "bob")
    ctx.transcript.add("grader", "sent", L_("{name} to the server", name=name))
    program.signal(signum)
    for peer in members:
        others = [ctx.profile.left_line(p.name) for p in members if p is not peer]
        try:
            with impatient(peer):
                expect_next(peer, SHUTDOWN_LINE, optional=others,
                            why=L_("On {name} the server says goodbye to every client.",
                                   name=name))
        except Missing:
            status = program.wait_exit(ctx.timing.soft)
            if status is None:
                raise
            raise Crashed(L_("On {name} the server exited ({status}) without sending"
                             " {shutdown_line} to {peer}: catch the signal, say goodbye to every"
                             " client, then exit.", name=name, status=_status(status),
                             shutdown_line=repr(SHUTDOWN_LINE), peer=peer.name),
                          expected=repr(SHUTDOWN_LINE), actual=L_("connection closed")) from None
        peer.expect_closed(L_("After {shutdown_line} the server closes the connection.",
                              shutdown_line=repr(SHUTDOWN_LINE)))
    status = program.wait_exit(ctx.timing.hard)
    if status is None:
        raise Hung(L_("The server was still running {hard:.1f} s after {name}, though it had"
                      " said goodbye: a thread that is not a daemon (one still serving a"
                      " connection, say) or a loop that does not stop keeps it alive.",
                      hard=ctx.timing.hard, name=name),
                   expected=L_("the program exits with status 0"), actual=L_("still running"))
    ctx.transcript.add("server", "exited", _status(status))
    _expect_gone(ctx, lurker, name)
    if status != 0:
        traceback = (L_("It printed a traceback: catch KeyboardInterrupt (what Ctrl-C"
                        " raises) around the accept loop.") if program.has_traceback() else "")
        raise Crashed(sentences(L_("After {name} the server exited with {status}; a server told"
                                   " to stop, that stops cleanly, exits with status 0.",
                                   name=name, status=_status(status)), traceback),
                      expected=L_("exit status {status}", status=0),
                      actual=L_("exit status {status}", status=status))


def _expect_gone(ctx: Context, peer: Peer, name: str) -> None:
    """Every socket closes: also a connection that never registered (a goodbye line on
    it is allowed). Called once the server has exited, which closes its sockets."""
    if not peer.drain_closed(time.monotonic() + ctx.timing.soft):
        raise Hung(L_("After {name} the server exited, but a connection that had not sent its"
                      " nickname was still open: on shutdown every socket closes (a process the"
                      " server started may still hold it).", name=name),
                   expected=L_("the connection closed"), actual=L_("still open"))


@check("server.shutdown", step=6, points=1, depends=["server.welcome"], needs=["chatlab:shutdown"],
       level=Level.ROBUSTNESS, own_server=True,
       hint=hint("Cleaning up", "§7", "Turn SIGTERM into the same clean stop as Ctrl-C"
                 " (signal.signal(signal.SIGTERM, ...)): goodbye to every client, close, exit 0."))
def shutdown(ctx: Context) -> None:
    """on SIGTERM every client gets `*** server shutting down`, sockets close, exit status 0"""
    _shutdown(ctx, signal.SIGTERM)


@check("server.shutdown_sigint", step=6, points=1, depends=["server.welcome"],
       needs=["chatlab:shutdown"], level=Level.ROBUSTNESS, own_server=True,
       hint=hint("Cleaning up", "§7", "Ctrl-C raises KeyboardInterrupt in the main thread:"
                 " catch it around the accept loop, say goodbye to every client, return 0."))
def shutdown_sigint(ctx: Context) -> None:
    """on SIGINT (Ctrl-C) every client gets `*** server shutting down`, sockets close, exit 0"""
    if os.name != "posix" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # On POSIX every program starts with SIGINT at its default, whatever the grader
        # does with it (grader.harness.sandbox). Elsewhere it would inherit an ignored
        # SIGINT, Python would set up no KeyboardInterrupt, and a terminal's Ctrl-C could
        # not be reproduced faithfully.
        raise NotApplicable(L_("the grader runs with SIGINT ignored, which the server inherits,"
                               " so a Ctrl-C cannot be sent to it as a terminal would"))
    _shutdown(ctx, signal.SIGINT)
