"""The student's client under a pseudo-terminal, driven like a user would.

Trap (known from other graders): a terminal echoes what is typed, so the text the grader
types shows up in the client's output even if the client never printed it. Two defences:
the pty is created with echo off (``echo=False``), and checks only ever look on screen for
text the *fake server* sent, never for text the grader typed; what the client sends is
checked where it arrives, at the fake server.

The client runs in the sandbox (:mod:`grader.harness.sandbox`) under the same limits as the
servers (:data:`grader.harness.programs.LIMITS`): the pty child is started with the sandbox's
environment and pre-exec function, then adopted, so :meth:`ClientSession.stop` kills it
and everything it started, and :attr:`ClientSession.limit_exceeded` says which limit, if
any, stopped it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Sequence

import pexpect

from ..failures import Crashed, Hung, Missing, TooSlow
from ..harness.isolation import Jail
from ..harness.programs import LIMITS, sandbox
from ..harness.sandbox import Launch, Limits, limit_from_output
from ..messages import L_, sentences
from ..timing import Timing
from .transcript import Transcript

SCREEN_CAP = 64 * 1024
FLOOD_LINES = 1000  # lines printed while it should be exiting: a loop, not a goodbye
TRACEBACK = "Traceback (most recent call last)"


class ClientSession:
    """One client process on a pty; its screen (output) is kept for the checks."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str,
        transcript: Transcript,
        timing: Timing,
        *,
        name: str = "client",
        env: dict[str, str] | None = None,
        limits: Limits = LIMITS,
        jail: Jail | None = None,
    ) -> None:
        self.name = name
        self.command = " ".join(argv)
        self.limits = limits
        self.transcript = transcript
        self.timing = timing
        environment = dict(os.environ if env is None else env)
        environment.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", TERM="dumb")
        box = sandbox(limits)
        launch = box.prepare(environment)
        try:
            if jail is None:
                self.child = self._spawn(argv, cwd, launch)
            else:
                self.child = jail.start(lambda: self._spawn(jail.wrap(argv, cwd), cwd, launch))
        except BaseException:
            if launch.cgroup is not None:
                with contextlib.suppress(OSError):
                    launch.cgroup.rmdir()
            raise
        self.guard = box.adopt(self.child.pid, launch, contained=jail is not None)
        self.screen = ""  # everything the client printed, "\r\n" turned into "\n"
        self.printed_lines = 0  # lines printed so far, kept on the screen or not
        self.typed = 0  # lines (and ends of input) typed so far
        self._unlogged = ""  # the line being printed, not in the transcript yet
        self.exitstatus: int | None = None
        self.transcript.add(name, "started", self.command)

    @staticmethod
    def _spawn(argv: Sequence[str], cwd: str, launch: Launch) -> pexpect.spawn:
        return pexpect.spawn(
            argv[0],
            list(argv[1:]),
            cwd=cwd,
            env=launch.env,
            preexec_fn=launch.preexec_fn,
            echo=False,
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(40, 200),
        )

    # -- reading the screen --------------------------------------------------------

    def read_rest(self, quiet: float, deadline: float) -> None:
        """Read what the client printed until it was quiet for ``quiet`` seconds, its
        output ended, or the monotonic ``deadline`` (after a failure, so the screen
        shown holds a traceback printed at the last moment)."""
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                if not self._pump(min(quiet, remaining)):
                    break
            except (pexpect.EOF, OSError):
                break
        self._log_lines(self._unlogged)  # a prompt, or a line cut off: shown as it is
        self._unlogged = ""

    def _pump(self, timeout: float) -> bool:
        """Read what the client printed; False if it printed nothing in ``timeout``.
        Raises EOF (pexpect) when the client has exited and everything was read."""
        try:
            data = self.child.read_nonblocking(65536, timeout=max(0.0, timeout))
        except pexpect.TIMEOUT:
            return False
        except pexpect.EOF:
            self._log_lines(self._unlogged + "\n")  # the last line, printed without end
            self._unlogged = ""
            raise
        text = data.replace("\r\n", "\n")
        self.printed_lines += text.count("\n")
        self.screen = (self.screen + text)[-SCREEN_CAP:]
        # Only whole lines go to the transcript: a read may end in the middle of one.
        complete, _, self._unlogged = (self._unlogged + text).rpartition("\n")
        self._unlogged = self._unlogged[-SCREEN_CAP:]
        if complete or text.endswith("\n"):
            self._log_lines(complete)
        return True

    def _log_lines(self, text: str) -> None:
        for line in text.splitlines():
            if line.strip():
                self.transcript.add(self.name, "printed", line.strip("\r"))

    def cursor(self) -> int:
        """A position on the screen: pass it to :meth:`expect_screen` to look after it."""
        return len(self.screen)

    def expect_screen(self, text: str, *, since: int = 0, what: str | None = None) -> None:
        """Wait until ``text`` appears on the screen after position ``since``; ``what``
        (a message) names it for the student."""
        self.expect_screen_match(re.compile(re.escape(text)), since=since,
                                 what=what or repr(text))

    def expect_screen_match(self, pattern: re.Pattern[str], *, since: int = 0,
                            what: str) -> re.Match[str]:
        """Wait until ``pattern`` matches the screen after position ``since``; the match."""
        desc = what
        start = time.monotonic()
        deadline = start + self.timing.hard
        lines_before = self.printed_lines
        while not (found := pattern.search(self.screen, since)):
            # Past the deadline whether the client is silent or printing something else.
            if time.monotonic() >= deadline:
                raise self._hung(
                    L_("The client did not show {what} within {seconds:.1f} s.", what=desc,
                       seconds=self.timing.hard),
                    expected=desc, actual=self._last_lines(), lines_before=lines_before,
                )
            try:
                self._pump(deadline - time.monotonic())
            except pexpect.EOF:
                raise Missing(L_("The client exited before showing {what}.", what=desc),
                              expected=desc,
                              actual=self._last_lines()) from None
        elapsed = time.monotonic() - start
        if elapsed > self.timing.soft:
            raise TooSlow(
                L_("The client showed {what} only after {elapsed:.1f} s.", what=desc,
                   elapsed=elapsed), expected=desc
            )
        return found

    def _hung(self, message: str, *, expected: str, actual: str, lines_before: int) -> Hung:
        """The failure for a client that did not do what was awaited; if it kept printing
        meanwhile, that is the story (a receive loop that goes on after b'')."""
        printed = self.printed_lines - lines_before
        if printed < FLOOD_LINES:
            return Hung(message, expected=expected, actual=actual)
        tail = "\n".join(line if line.strip() else "(an empty line)"
                         for line in self.screen.splitlines()[-5:])
        return Hung(
            sentences(message, L_("It kept printing instead ({count} lines meanwhile): a"
                                  " receive loop that goes on after recv() returned b'' (the"
                                  " server closed) prints empty lines forever. b'' means the"
                                  " connection is over: leave the loop.", count=printed)),
            expected=expected, actual=L_("{count} lines printed; the last ones:\n{tail}",
                                         count=printed, tail=tail))

    def _last_lines(self, n: int = 6) -> str:
        lines = [ln for ln in self.screen.splitlines() if ln.strip()]
        return "\n".join(lines[-n:]) if lines else L_("(nothing on the screen)")

    def has_traceback(self) -> bool:
        return TRACEBACK in self.screen

    @property
    def limit_exceeded(self) -> str | None:
        """Which resource limit stopped the client (see grader.harness.sandbox), or None."""
        return self.guard.limit_exceeded or limit_from_output(self.screen)

    # -- typing --------------------------------------------------------------------

    def type_line(self, text: str) -> None:
        self.transcript.add(self.name, "typed", text)
        self.typed += 1
        self.child.sendline(text)

    def type_eof(self) -> None:
        self.transcript.add(self.name, "typed", L_("Ctrl-D (end of input)"))
        self.typed += 1
        self.child.sendeof()

    # -- ending --------------------------------------------------------------------

    def wait_exit(self, within: float) -> float:
        """Wait for the client to exit; returns how long it took. Hung past the hard
        deadline, TooSlow past ``within`` (scaled). Reads the screen meanwhile."""
        start = time.monotonic()
        soft = self.timing.of(within)
        deadline = start + max(self.timing.hard, soft * 2)
        lines_before = self.printed_lines
        while True:
            try:
                self._pump(max(0.0, min(0.05, deadline - time.monotonic())))
            except pexpect.EOF:
                break
            if time.monotonic() >= deadline:
                if self.has_traceback():
                    raise Crashed(
                        L_("The client printed a traceback and then kept running."),
                        expected=L_("the client exits within {seconds:g} s, no traceback",
                                    seconds=within),
                        actual=self.screen[self.screen.find(TRACEBACK):][-800:],
                    )
                raise self._hung(
                    L_("The client was still running {seconds:.1f} s later.",
                       seconds=deadline - start),
                    expected=L_("the client exits within {seconds:g} s", seconds=within),
                    actual=L_("still running"), lines_before=lines_before,
                )
        self.child.wait()
        self.exitstatus = self.child.exitstatus
        if self.child.signalstatus is not None:
            self.exitstatus = -self.child.signalstatus
        elapsed = time.monotonic() - start
        self.transcript.add(self.name, "exited", L_("status {status} after {seconds:.2f} s",
                                                    status=self.exitstatus, seconds=elapsed))
        if elapsed > soft:
            raise TooSlow(
                L_("The client took {elapsed:.1f} s to exit; the protocol allows {seconds:g}"
                   " s.", elapsed=elapsed, seconds=within),
                expected=L_("exit within {seconds:g} s", seconds=within),
                actual=f"{elapsed:.1f} s",
            )
        return elapsed

    def stop(self) -> None:
        """Kill the client and everything it started (escaped grandchildren too)."""
        self.guard.kill_tree()
        if self.child.isalive():
            try:
                os.killpg(self.child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.child.close(force=True)
        except Exception:  # noqa: BLE001 - best effort on teardown; the pid is gone
            pass
        # The leader is reaped now: this finds nothing left and removes its cgroup,
        # which the leader's zombie kept busy during the first call.
        self.guard.kill_tree()
