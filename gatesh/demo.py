"""`gatectl demo`: the whole of gatesh in one terminal, against a throwaway directory.

It makes a temp world (its own HOME, XDG dirs, config and a small project: demoworld), runs
the real approval console (the code `gatectl approve` runs) in this terminal, and in the
background a scripted agent (demoagent, a process in a session of its own) that runs ordinary
commands through the real gatesh, then one a rule refuses, then a destructive one that waits
for the person watching to press y or n.  A strip above the console says what the agent is
doing.  At the end it leaves the console, prints what ran and what was blocked from the
demo's own audit log, and removes the temp world (unless --keep).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from .demoview import Outcome, Progress
from .demoworld import World
from .errors import ExitStatus, GateshError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .console import Console, Panel

__all__ = ["Options", "run_demo"]

AUTO_AFTER_S = 2.0     # --auto answers once the request has been on screen this long
END_PAUSE_S = 2.5      # the last result stays on screen this long before the summary


@dataclass(frozen=True)
class Options:
    auto: str = ""         # "yes" or "no": answer for the watcher
    keep: bool = False     # leave the temp world for inspection
    pause: float = 1.5     # seconds before each of the agent's commands


class Agent:
    """The scripted agent's process, read from the console's event loop."""

    def __init__(self, world: World, gatesh: str, progress: Progress, opts: Options) -> None:
        self.world, self.gatesh, self.progress, self.opts = world, gatesh, progress, opts
        self.proc: subprocess.Popen[bytes] | None = None
        self.buf = b""
        self.err_path = os.path.join(world.root, "agent.err")

    def panel(self) -> Panel:
        from .console import Panel
        from .demoview import panel_fragments
        return Panel(lambda: panel_fragments(self.progress), len(self.progress.steps) + 1,
                     self.start)

    def start(self, console: Console) -> None:
        """Called in the event loop once the console runs: start the agent and watch it."""
        loop = asyncio.get_running_loop()
        argv = [sys.executable, "-m", "gatesh.demoagent", self.gatesh, str(self.opts.pause),
                *(s.command for s in self.progress.steps)]
        try:
            with open(self.err_path, "wb") as err:
                self.proc = subprocess.Popen(argv, cwd=self.world.project, env=self.world.env,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                             stderr=err, start_new_session=True)
        except OSError as e:
            self.progress.failure = f"cannot start it: {e.strerror or e}"
            self._ended(console)
            return
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._read, console, fd)
        if self.opts.auto:
            loop.create_task(self._answer(console))

    def _read(self, console: Console, fd: int) -> None:
        import json
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            asyncio.get_running_loop().remove_reader(fd)
            self._ended(console)
            return
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            try:
                ev = json.loads(line)
                i = int(ev["i"])
                if ev["event"] == "start":
                    self.progress.current = i
                    self.progress.pids[i] = int(ev["pid"])
                elif ev["event"] == "done":
                    self.progress.results[i] = Outcome(
                        int(ev["exit"]), str(ev["out"]), str(ev["reason"]),
                        tuple(str(t)[:300] for t in ev["told"]))
            except (ValueError, KeyError, TypeError):
                continue

    def _ended(self, console: Console) -> None:
        p = self.progress
        p.ended = True
        if not p.finished:
            p.failure = p.failure or self._last_error() or "it exited before the end of its script"
        asyncio.get_running_loop().call_later(END_PAUSE_S, console.quit, 0)

    def _last_error(self) -> str:
        try:
            with open(self.err_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    async def _answer(self, console: Console) -> None:
        """--auto: answer each request the way a watcher pressing y or n would."""
        from .approver import PENDING
        while True:
            await asyncio.sleep(0.2)
            p = console.selected
            if p is None or p.state != PENDING or not console.armed() or \
                    time.monotonic() - p.received < AUTO_AFTER_S:
                continue
            if self.opts.auto == "yes" and p.severity == "critical":
                console.submit_token(p.token)
            else:
                console.answer(self.opts.auto == "yes", f"demo --auto {self.opts.auto}")

    def stop(self) -> None:
        """End the agent and the gates it started (its own process group), if still running."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_demo(opts: Options) -> int:
    """Run the demo; 0 at the end of the script, 130 when the watcher stopped it early."""
    if not _interactive():
        print("gatectl: demo needs a terminal (stdin and stdout are not one); run gatectl demo "
              "in an interactive terminal", file=sys.stderr)
        return ExitStatus.USAGE
    if not 0 <= opts.pause <= 30:
        raise UsageError("--pause must be between 0 and 30 seconds")
    from .config import find_bash, load
    from .console import run_console
    from .demoview import print_summary, summarize
    from .demoworld import make_world, remove_world, script
    from .launcher import gatesh_path

    gatesh, bash = gatesh_path(), find_bash(os.environ)
    world = make_world(bash, os.environ)
    kept = opts.keep
    from .terminal import Interrupted, interruptible
    stops = interruptible()   # SIGTERM, SIGHUP (a closed window): cleaned up like Ctrl-C
    try:
        stops.__enter__()
        progress = Progress(script(shutil.which("git", path=world.env["PATH"]) is not None),
                            world.root, opts.auto)
        agent = Agent(world, gatesh, progress, opts)
        try:
            run_console(load(world.env), agent.panel())
        finally:
            agent.stop()
        if not progress.finished:
            if progress.failure:
                kept = True
                raise GateshError(f"the demo's agent stopped: {progress.failure}; its errors "
                                  f"are in {agent.err_path}")
            print("gatectl: demo stopped before the end; "
                  + ("kept " if opts.keep else "removed ") + world.root, file=sys.stderr)
            return ExitStatus.INTERRUPTED
        summary = summarize(progress, world)
    except (KeyboardInterrupt, Interrupted) as e:
        with contextlib.suppress(OSError):   # after SIGHUP the terminal may be gone
            print("gatectl: demo interrupted; " + ("kept " if opts.keep else "removed ")
                  + world.root, file=sys.stderr)
        return 128 + e.signum if isinstance(e, Interrupted) else ExitStatus.INTERRUPTED
    finally:
        stops.__exit__()
        if not kept:
            remove_world(world.root)
    print_summary(summary, kept)
    return ExitStatus.OK
