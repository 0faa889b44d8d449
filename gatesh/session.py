"""Interactive gatesh: the real bash in a pty, each command line gated before bash reads it.

The loop is the launcher's (pump.Pump) with bash's output copied by a thread (sessionout)
and one difference on input: while bash is at its prompt (marked by shell-hooks/bashrc on a
private pipe, and checked against the terminal's foreground job), typed input is held here
until it forms a complete command, which is gated and then forwarded exactly as gated, or
replaced by `__gatesh_blocked` so that the next prompt reports the failure.  While a program
runs in the foreground its input passes through.  A command that needs a human is reviewed in
a forked gate whose answer is one more descriptor in the select.
"""

from __future__ import annotations

import contextlib
import os
import select
import time

from . import terminal
from .pump import Pump
from .sessionask import Asking
from .sessionline import edit, needs_more, take_line
from .sessionout import Output

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .config import Config

__all__ = ["Session"]

_BLOCKED_CALL = b"__gatesh_blocked"
_SYNC = b"\x1b]7771;gatesh\x07"   # printed by __gatesh_blocked after its own echo
_RECENT = 1 << 16   # input passed through, kept to take back what nobody read
_RAW_WAIT = 0.05    # how long a marked prompt may take to switch the terminal to raw keys
_POLL = 0.0005      # select's timeout while waiting for that switch


class Session(Pump):
    """The interactive copy loop; bash is the child, gatesh stays the parent."""

    def __init__(self, cfg: Config, bash: int, master: int, slave: int, hook_r: int,
                 hook_w: int, in_fd: int | None, tty_fd: int | None,
                 sig: terminal.SignalPipe, argv0: str) -> None:
        super().__init__(bash, master, in_fd, tty_fd, sig)
        self.cfg, self.slave, self.hook_r, self.hook_w, self.argv0 = (
            cfg, slave, hook_r, hook_w, argv0)
        self.err_fd = 2
        self.crlf = tty_fd == 0   # the agent's terminal is in raw mode: no \n -> \r\n
        self.at_prompt = False
        self.started = False          # the first prompt has been marked
        self.prompts = 0              # prompts marked so far
        self.reading_since = 0.0      # when the last mark was answered, until readline reads
        self.eof_sent_to: tuple[str, int] | None = None   # after the input ended
        self.held = bytearray()       # input held while bash is at its prompt
        self.lines: list[str] = []    # lines of a command bash is still reading (PS2)
        self.terms: list[bytes] = []  # how each of those lines ended (\r or \n)
        self.recent = bytearray()
        self.asking: Asking | None = None
        self.hook_buf = bytearray()
        self.hook_open = True
        self.shown = b""              # the blocked command, shown where bash would echo it
        self.echo_on = False          # the terminal echoes: held typing is echoed here
        self.echoed = ""              # what this loop has echoed of the held line
        self.after_block: tuple[bytes, int] | None = None   # (message, status) to deliver
        self.grant: str | None = None     # the approval record of the running line
        self.out = Output(master, 1)
        self.wake_open = True

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> int:
        os.set_blocking(self.master, True)   # the copy thread blocks in read()
        self.out.start()
        try:
            self.handle_resize()
            self.reap()
            while self.status is None:
                self.step(None)
            self.in_fd = None
            self.out.finish()
        finally:
            from .approvals import revoke
            revoke(self.grant)
        self.reap()
        return self.exit_code()

    def step(self, timeout: float | None) -> bool:
        rlist = [self.sig.fd, self.hook_r] if self.hook_open else [self.sig.fd]
        if self.wake_open:
            rlist.append(self.out.wake_r)
        if self.in_fd is not None and len(self.pending) < 65536 and len(self.held) < 1 << 20:
            rlist.append(self.in_fd)
        if self.asking is not None:
            rlist.append(self.asking.fd)
        wlist = [self.master] if self.pending and self.master_open else []
        r, w, _ = select.select(rlist, wlist, [], _POLL if self.reading_since else timeout)
        if self.sig.fd in r:
            self.handle_signals()
        if self.wake_open and self.out.wake_r in r:   # EOF: bash's side of the pty is gone
            self.wake_open = self.master_open = False
        if self.hook_open and self.hook_r in r:
            self.handle_hook()
        if self.asking is not None and self.asking.fd in r:
            self.handle_answer()
        if self.in_fd is not None and self.in_fd in r:
            self.handle_input()
        if self.master in w:
            self.handle_master_write()
        if self.reading_since:
            self.prompt_ready()
        if self.eof_due and not self.pending and self.master_open and not self.held \
                and self.asking is None and not self.reading_since:
            self.send_end_of_input()
        return bool(r or w)

    def send_end_of_input(self) -> None:
        """The agent's input has ended: as a pipe's end is seen by every read, bash at each
        prompt and each program in the foreground gets one end-of-input (^D)."""
        fg = terminal.foreground_job(self.master)
        who = ("prompt", self.prompts) if self.at_prompt else ("job", fg) if fg != self.agent \
            else None
        if who is None or who == self.eof_sent_to:
            return   # bash is busy itself: wait for its prompt
        self.eof_sent_to = who
        if not terminal.send_eof(self.master):      # readline: ^D on an empty line
            self.pending += b"\x04"

    def handle_master_write(self) -> None:
        """Input to bash, a little at a time: the pty is in blocking mode for the copy thread,
        and select said there is room."""
        try:
            del self.pending[:os.write(self.master, self.pending[:512])]
        except OSError:   # the pty is gone: the input has nowhere to go
            self.pending.clear()

    def forward_signal(self, signum: int) -> None:
        if self.asking is not None:   # a gate waiting for a human withdraws its request
            self.asking.interrupt(signum)
        super().forward_signal(signum)

    def child_exited(self, pid: int) -> None:
        if self.asking is not None:
            self.asking.reaped(pid)

    # --- input ------------------------------------------------------------------------

    def handle_input(self) -> None:
        assert self.in_fd is not None
        try:
            data = os.read(self.in_fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.in_fd = None
            self.eof_due = self.tty_fd != 0
            return
        if not self.at_prompt and self.asking is None and self._bash_reads_unmarked(data):
            self.at_prompt = True   # no mark (PROMPT_COMMAND tampered with): gate anyway
        if self.at_prompt or self.asking is not None or not self.started or self.reading_since:
            self.held += data   # for the prompt (marked, or the first one still to come)
            self.take_commands()
        else:
            self.pass_through(data)

    def _bash_reads_unmarked(self, data: bytes) -> bool:
        """bash itself in the foreground, its terminal in readline's mode, and a line typed."""
        if b"\r" not in data and b"\n" not in data:
            return False
        return (terminal.foreground_job(self.master) == self.agent
                and terminal.reads_raw_keys(self.master))

    def pass_through(self, data: bytes) -> None:
        self.pending += data
        self.recent += data
        del self.recent[:-_RECENT]

    def take_commands(self) -> None:
        """Gate the held input's next complete command; forward continuation lines."""
        while self.at_prompt and self.asking is None and self.held:
            intr = terminal.interrupt_char(self.master)
            eol = _first_eol(self.held)
            cut = self.held.find(intr, 0, eol)
            if cut >= 0:                                # ^C: readline drops the line
                del self.held[:cut + 1]
                self.lines.clear()
                self.terms.clear()
                self.echoed = ""
                self.pending += intr
                continue
            if not self.lines and self.held[:1] == b"\x04":
                del self.held[:1]                       # ^D on an empty line: bash's own
                self.pending += b"\x04"
                continue
            got = take_line(self.held)
            if got is None:
                self.show_typing()
                return
            typed, term = got
            line = edit(typed)
            self.lines.append(line)
            self.terms.append(term)
            self.show_typing(line)
            self.echoed = ""
            text = "\n".join(self.lines) + "\n"
            if len(self.lines) < 200 and needs_more(text, self.cfg.bash):
                self.forward(line, term)                # bash shows PS2 and reads on
                continue
            self.asking = Asking.start(self.cfg, text.rstrip("\n"), self.agent, self.argv0)
            if self.asking.done:
                self.handle_answer()

    def show_typing(self, line: str | None = None) -> None:
        """Echo held typing here, as readline would, when the terminal echoes: bash sees
        none of it before the gate has allowed the whole command."""
        if not self.echo_on:
            return
        if line is None:
            line = edit(bytes(self.held[:_first_eol(self.held)]))
        new = line
        old = self.echoed
        same = 0
        while same < min(len(old), len(new)) and old[same] == new[same]:
            same += 1
        gone = len(old) - same
        out = "\b" * gone + " " * gone + "\b" * gone + new[same:]
        if out:
            self.out.show(out.encode("utf-8", "surrogateescape"))
        self.echoed = new

    def forward(self, line: str, term: bytes) -> None:
        """Send bash exactly the gated line; its echo of what was shown here is dropped."""
        data = line.encode("utf-8", "surrogateescape")
        self.pending += data + term
        if self.echo_on:
            self.out.expect_echo(data)

    def handle_answer(self) -> None:
        assert self.asking is not None
        result = self.asking.read()
        if result is None:
            return
        allowed, message, status = result
        approved = self.asking.approved
        self.asking.close()
        self.asking = None
        if approved:   # until the next prompt, nested shells of this line ask no more
            from .approvals import grant
            self.grant = grant(self.cfg.runtime_dir, self.agent, approved)
        if allowed:
            self.forward(self.lines[-1], self.terms[-1])
            self.at_prompt = False
        elif len(self.lines) > 1:                        # bash holds the first lines: drop them
            self.pending += terminal.interrupt_char(self.master)
            self.after_block = (message, status)
            self.at_prompt = False
        else:
            self.block(message, status)
        self.shown = self.lines[-1].encode("utf-8", "surrogateescape") if self.lines else b""
        self.lines.clear()
        self.terms.clear()

    def block(self, message: bytes, status: int) -> None:
        self.after_block = (message, status)
        self.out.hold()
        self.pending += _BLOCKED_CALL + b" %d\r" % status
        self.at_prompt = False

    # --- marks from the hooks ---------------------------------------------------------

    def handle_hook(self) -> None:
        try:
            data = os.read(self.hook_r, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.hook_r_closed()
            return
        self.hook_buf += data
        while (got := take_line(self.hook_buf)) is not None:
            mark = got[0][:1]
            if mark == b"P":
                self.on_prompt()
            elif mark == b"B":
                self.on_blocked_call()
            self.ack()

    def hook_r_closed(self) -> None:
        """bash closed the mark pipe (it exec'd, or was tampered with): from now on only
        the terminal tells when bash reads a command line (_bash_reads_unmarked)."""
        self.hook_open = False

    def ack(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.hook_w, b"k")

    def on_prompt(self) -> None:
        if terminal.foreground_job(self.master) != self.agent:
            return   # a mark written by some other program: not bash at its prompt
        if self.out.holding() and self.after_block is None:
            self.out.show(bytes(self.out.take_held()))   # the stand-in never reported back
        if self.grant:
            from .approvals import revoke
            revoke(self.grant)
            self.grant = None
        self.started = True
        self.prompts += 1
        # Typed ahead while the command ran and not read by it: taken back and gated here.
        # The flush also drops bytes still on their way into the terminal, so nothing
        # passed through is ever read by bash's prompt ungated (at worst it is lost).
        back = terminal.take_back_input(self.slave)
        if back and back <= len(self.recent):
            self.held[:0] = self.recent[-back:]
        self.recent.clear()
        self.lines.clear()
        self.terms.clear()
        self.echo_on = terminal.echoes(self.slave)   # readline has not taken the terminal yet
        self.echoed = ""
        self.out.clear_expect()
        self.reading_since = time.monotonic()   # see prompt_ready()

    def prompt_ready(self) -> None:
        """After the mark is answered, readline takes the terminal (raw mode) before it
        reads: only then is held input sent, so bash sees it as typed at its prompt (not
        echoed early by the terminal, and ^D read as a key).  A bash without line editing
        stays in line mode: after a moment the input goes all the same."""
        if not terminal.reads_raw_keys(self.master) and \
                time.monotonic() - self.reading_since < _RAW_WAIT:
            return
        self.reading_since = 0.0
        if self.after_block is not None:     # the prompt after ^C dropped a blocked command
            message, status = self.after_block
            self.block(message, status)
            return
        self.at_prompt = True
        self.take_commands()

    def on_blocked_call(self) -> None:
        """bash runs __gatesh_blocked: drop its echo, then show why the command was blocked."""
        self.out.settle(_SYNC)
        echo = self.out.take_held()
        at = echo.find(_SYNC)
        if at >= 0:
            del echo[at:at + len(_SYNC)]
        at = echo.find(_BLOCKED_CALL)
        if at >= 0:   # bash echoes what it reads: show the blocked command there instead
            end = at + len(_BLOCKED_CALL)
            while end < len(echo) and echo[end:end + 1] in b" 0123456789":
                end += 1
            from .display import visible
            shown = visible(self.shown.decode("utf-8", "surrogateescape")).encode()
            echo[at:end] = b"" if self.echo_on else shown
        if echo:
            self.out.show(bytes(echo))
        if self.after_block is not None:
            message = self.after_block[0]
            self.after_block = None
            self.out.show(message.replace(b"\n", b"\r\n") if self.crlf else message,
                          self.err_fd)


def _first_eol(buf: bytearray) -> int:
    found = [i for i in (buf.find(b"\n"), buf.find(b"\r")) if i >= 0]
    return min(found) if found else len(buf)
