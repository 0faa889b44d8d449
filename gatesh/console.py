"""`gatectl approve`: the full-screen approval console in the human's own terminal.

Before anything else it checks that it is not inside a gated agent session, that it has a
controlling terminal and is not traced (approval.md 5.2); it makes itself non-dumpable, opens
/dev/tty and sets TIOCEXCL on it, so no other process of this user can open that terminal to
read the human's keys or redraw the prompt (5.3).  Keys are read only from that descriptor.
When a request is shown, typed-ahead input is flushed and keys in the next half second are
ignored; `y` approves `high`; `critical` needs the token derived from the target.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from .approver import PENDING, Approver, Pending
from .config import Config
from .errors import GateshError

__all__ = ["run_console", "Console", "Panel"]

ARM_DELAY_S = 0.5
_HISTORY = 8


@dataclass(frozen=True)
class Panel:
    """An extra strip under the header (`gatectl demo`): plain fragments, and a start hook
    called in the event loop once the console runs."""

    fragments: Callable[[], list[tuple[str, str]]]
    height: int
    start: Callable[[Console], None]


class Console:
    def __init__(self, cfg: Config, fd: int, panel: Panel | None = None) -> None:
        self.cfg = cfg
        self.fd = fd
        self.panel = panel
        self.approver = Approver(cfg, self._changed)
        self.selected: Pending | None = None
        self.armed_at = 0.0
        self.note_mode = False
        self.show_full = False
        self.scroll = 0
        self.app: object = None

    # --- state ------------------------------------------------------------------------

    def rows(self) -> list[Pending]:
        reqs = self.approver.requests
        pending = [p for p in reqs if p.state == PENDING]
        done = sorted((p for p in reqs if p.state != PENDING), key=lambda p: -p.decided_at)
        return pending + done[:_HISTORY]

    def armed(self) -> bool:
        return time.monotonic() >= self.armed_at

    def mode(self) -> str:
        p = self.selected
        if p is None or p.state != PENDING:
            return "keys"
        if self.note_mode:
            return "note"
        return "token" if p.severity == "critical" else "keys"

    def select(self, p: Pending | None) -> None:
        if p is self.selected:
            return
        self.selected = p
        self.note_mode = False
        self.show_full = False
        self.scroll = 0
        self._clear_input()
        if p is not None and p.state == PENDING:
            self._arm()
        self._sync_focus()

    def _arm(self) -> None:
        from . import terminal
        terminal.flush_input(self.fd)
        self.armed_at = time.monotonic() + ARM_DELAY_S

    def _changed(self, p: Pending | None, what: str) -> None:
        if what == "new":
            self._ring()
            if self.selected is None or self.selected.state != PENDING:
                self.select(p)
        elif p is self.selected and what != "preview":
            self._next_pending()
        self._invalidate()

    def _next_pending(self) -> None:
        """After the selected request ends, move on to the oldest one still waiting."""
        for q in self.approver.requests:
            if q.state == PENDING:
                self.select(q)
                return
        self._sync_focus()

    def _ring(self) -> None:
        app = self.app
        if app is not None:
            app.output.bell()  # type: ignore[attr-defined]
            app.output.flush()  # type: ignore[attr-defined]
        if shutil.which("notify-send"):
            try:
                subprocess.Popen(["notify-send", "-a", "gatesh", "gatesh",
                                  "A command is waiting for your approval in gatectl approve."],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError:
                pass

    def _invalidate(self) -> None:
        if self.app is not None:
            self.app.invalidate()  # type: ignore[attr-defined]

    # --- answers ----------------------------------------------------------------------

    def answer(self, approve: bool, how: str, note: str = "") -> None:
        p = self.selected
        if p is None or p.state != PENDING or not self.armed():
            return
        self.approver.decide(p, approve, how, note)

    def submit_token(self, text: str) -> None:
        p = self.selected
        if p is None or p.state != PENDING or not self.armed():
            return
        if p.token and text.strip() == p.token:
            self.answer(True, "token")
        else:
            self.answer(False, "wrong token" if text.strip() else "no token")

    # --- the application --------------------------------------------------------------

    def _clear_input(self) -> None:
        buf = getattr(self, "buffer", None)
        if buf is not None:
            buf.reset()

    def _sync_focus(self) -> None:
        app = self.app
        if app is None:
            return
        target = self.input_window if self.mode() in ("token", "note") else self.detail_window
        try:
            app.layout.focus(target)  # type: ignore[attr-defined]
        except ValueError:
            pass

    def build(self, inp: object, out: object) -> object:
        from prompt_toolkit.application import Application
        from prompt_toolkit.buffer import Buffer
        from prompt_toolkit.data_structures import Point
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.layout import (ConditionalContainer, HSplit, Layout, VSplit,
                                           Window)
        from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
        from prompt_toolkit.styles import Style

        from . import consoleview as view

        self.buffer = Buffer(multiline=False, accept_handler=self._accept)
        header = FormattedTextControl(lambda: [("class:header", self._header())])
        queue = FormattedTextControl(lambda: view.queue_fragments(self.rows(), self.selected))
        detail = FormattedTextControl(
            lambda: view.detail_fragments(self.selected, self.show_full, self.approver.alarm),
            focusable=True, show_cursor=False,
            get_cursor_position=lambda: Point(0, self.scroll))
        self.detail_window = Window(detail, wrap_lines=True)
        help_ = FormattedTextControl(lambda: view.help_fragments(self.selected, self.mode(),
                                                                 self.armed()))
        label = FormattedTextControl(lambda: [("class:label", " token > " if self.mode()
                                               == "token" else " note > ")])
        self.input_window = Window(BufferControl(self.buffer), height=1)
        typing = Condition(lambda: self.mode() in ("token", "note"))
        extra = [] if self.panel is None else [
            Window(FormattedTextControl(self.panel.fragments), height=self.panel.height),
            Window(height=1, char="-", style="class:dim")]
        body = HSplit([
            Window(header, height=1, style="class:header"),
            *extra,
            VSplit([Window(queue, width=32), Window(width=1, char="|", style="class:dim"),
                    self.detail_window]),
            Window(height=1, char="-", style="class:dim"),
            Window(help_, height=2, wrap_lines=True),
            ConditionalContainer(VSplit([Window(label, width=9), self.input_window]),
                                 filter=typing),
        ])
        app = Application(layout=Layout(body, focused_element=self.detail_window),
                          key_bindings=self._keys(typing), style=Style.from_dict(view.STYLE),
                          full_screen=True, input=inp, output=out, mouse_support=False,
                          refresh_interval=0.5)
        self.app = app
        return app

    def quit(self, result: int = 0) -> None:
        """Leave the console (what q does), from code running in its event loop."""
        app = self.app
        if app is not None and app.is_running:  # type: ignore[attr-defined]
            app.exit(result=result)  # type: ignore[attr-defined]

    def _header(self) -> str:
        n = sum(1 for p in self.approver.requests if p.state == PENDING)
        return (f" gatesh approve  |  {n} pending  |  {self.approver.path}  |  "
                f"pid {os.getpid()}")

    def _accept(self, buf: object) -> bool:
        text = buf.text  # type: ignore[attr-defined]
        if self.mode() == "token":
            self.submit_token(text)
        elif self.mode() == "note":
            self.answer(False, "n+note", text.strip()[:500])
        self._clear_input()
        return True

    def _keys(self, typing: object) -> object:
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.keys import Keys

        kb = KeyBindings()
        not_typing = ~typing  # type: ignore[operator]
        keys_mode = Condition(lambda: self.mode() == "keys")

        @kb.add("y", filter=keys_mode)
        def _(event: object) -> None:
            p = self.selected
            if p is not None and p.severity == "critical":
                self.answer(False, "y on critical")
            else:
                self.answer(True, "y")

        @kb.add("n", filter=keys_mode)
        def _(event: object) -> None:
            self.answer(False, "n")

        @kb.add("m", filter=keys_mode)
        def _(event: object) -> None:
            if self.selected is not None and self.selected.state == PENDING and self.armed():
                self.note_mode = True
                self._sync_focus()

        @kb.add("tab", filter=Condition(lambda: self.mode() == "token"))
        def _(event: object) -> None:
            self.note_mode = True
            self._clear_input()
            self._sync_focus()

        @kb.add("escape", filter=typing, eager=True)
        def _(event: object) -> None:
            if self.mode() == "note":
                self.note_mode = False
                self._clear_input()
                self._sync_focus()
            else:
                self.answer(False, "esc")

        @kb.add("up")
        @kb.add("k", filter=not_typing)
        def _(event: object) -> None:
            self._move(-1)

        @kb.add("down")
        @kb.add("j", filter=not_typing)
        def _(event: object) -> None:
            self._move(1)

        @kb.add("pageup")
        def _(event: object) -> None:
            self.scroll = max(0, self.scroll - 10)

        @kb.add("pagedown")
        def _(event: object) -> None:
            self.scroll += 10

        @kb.add("f", filter=not_typing)
        def _(event: object) -> None:
            self.show_full = not self.show_full

        @kb.add("q", filter=not_typing)
        @kb.add("c-c")
        def _(event: object) -> None:
            event.app.exit(result=0)  # type: ignore[attr-defined]

        # registered last, so it wins: keys typed too early do nothing at all
        @kb.add(Keys.Any, filter=Condition(lambda: not self.armed()), eager=True)
        def _(event: object) -> None:
            pass

        return kb

    def _move(self, step: int) -> None:
        rows = self.rows()
        if not rows:
            return
        i = rows.index(self.selected) if self.selected in rows else -1
        self.select(rows[max(0, min(len(rows) - 1, i + step))])

    async def _tick(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(0.25)
            ticks += 1
            self.approver.expire()
            if ticks % 20 == 0:
                await asyncio.get_running_loop().run_in_executor(self.approver.worker,
                                                                 self.approver.anchor)
            if self.approver.socket_replaced() and not self.approver.alarm:
                self.approver.alarm = ("the approval socket was replaced by another process; "
                                       "gates may be talking to an impostor")
            self._invalidate()

    def _loop_error(self, loop: object, context: dict[str, object]) -> None:
        """A failure inside the console is shown as an alarm; requests stay safe (no answer
        is a no)."""
        exc = context.get("exception")
        what = f"{type(exc).__name__}: {exc}" if exc else str(context.get("message"))
        self.approver.alarm = f"internal error in the console ({what})"
        self._invalidate()

    async def main(self, inp: object, out: object) -> int:
        app = self.build(inp, out)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        await self.approver.serve()
        tick = asyncio.get_running_loop().create_task(self._tick())
        panel = self.panel
        pre_run = None if panel is None else (lambda: panel.start(self))
        try:
            return int(await app.run_async(pre_run=pre_run,  # type: ignore[attr-defined]
                                           set_exception_handler=False) or 0)
        finally:
            tick.cancel()
            self.approver.close()


def _terminal_io(fd: int) -> tuple[object, object]:
    from prompt_toolkit.input.vt100 import Vt100Input
    from prompt_toolkit.output.vt100 import Vt100_Output
    tin = os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace")
    tout = os.fdopen(os.dup(fd), "w", encoding="utf-8", errors="replace")
    return Vt100Input(tin), Vt100_Output.from_pty(tout, term=os.environ.get("TERM"))


def run_console(cfg: Config, panel: Panel | None = None) -> int:
    """Check, harden, take the socket, and run the console until the human quits."""
    from . import procinfo, sessions, terminal
    problem = sessions.approver_problem(cfg.runtime_dir)
    if problem:
        raise GateshError(f"refusing to start: {problem}")
    procinfo.set_dumpable(False)
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        raise GateshError(f"refusing to start: no controlling terminal ({e.strerror}); run "
                          "gatectl approve in a terminal of its own") from None
    try:
        terminal.set_exclusive(fd, True)
        console = Console(cfg, fd, panel)
        console.approver.bind()
        console.approver.record_event("approver_start", tty=os.ttyname(fd),
                                      socket=console.approver.path)
        console.approver.anchor(force=True)
        inp, out = _terminal_io(fd)
        try:
            return asyncio.run(console.main(inp, out))
        finally:
            console.approver.record_event("approver_stop")
            console.approver.anchor(force=True)
    finally:
        try:
            terminal.set_exclusive(fd, False)
        except OSError:
            pass
        os.close(fd)
