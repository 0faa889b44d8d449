"""Regenerate the README's picture of `gatectl approve` from a live screen.

    python3 docs/screenshot.py [OUT.svg]        (default: docs/console.svg)

Everything happens in a temp dir that is deleted at the end: a HOME (every XDG dir inside
it) holding a small git project with a local bare remote; a private tmux server (its own
socket and config) running the installed `gatectl approve`; and gated commands, each run by
an "agent" (`bash -c CMD`) that `gatectl run` starts in a session and pty of its own with
the gatesh shim as its bash.  The screen is read with `tmux capture-pane -e` and rendered
to SVG by rich (Text.from_ansi: command text is never read as markup); then every request
is denied and the tmux server is killed.  Nothing outside the temp dir is touched.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from rich.console import Console
from rich.text import Text

WIDTH, HEIGHT = 140, 30
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "console.svg")
ARMED = ("y approve", "and press Enter to approve")    # key help of high / critical
# (command, expected severity); the last one is the request shown in the picture
COMMANDS = [("git reset --hard", "high"), ("git push --force origin main", "critical")]


def exe(name: str) -> str:
    """The installed script next to this interpreter (never a pyenv shim)."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else shutil.which(name) or name


def world(root: str) -> dict[str, str]:
    """A temp HOME with ~/project: pushed to ~/remote.git, then amended and left dirty."""
    home = os.path.join(root, "home")
    env = {"HOME": home, "USER": os.environ.get("USER", "me"), "LANG": "C.UTF-8",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color",
           "XDG_CONFIG_HOME": f"{home}/.config", "XDG_STATE_HOME": f"{home}/.local/state",
           "XDG_CACHE_HOME": f"{home}/.cache", "XDG_DATA_HOME": f"{home}/.local/share",
           "XDG_RUNTIME_DIR": f"{root}/run", "GIT_CONFIG_NOSYSTEM": "1"}
    env |= {f"GIT_{who}_{what}": val for who in ("AUTHOR", "COMMITTER")
            for what, val in (("NAME", "Dev"), ("EMAIL", "dev@example.invalid"))}
    project = f"{home}/project"
    os.makedirs(f"{project}/src")
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    for name, text in (("src/app.py", "print('hello')\n"), ("notes.txt", "plan\n")):
        with open(f"{project}/{name}", "w") as f:
            f.write(text)
    for args in (["init", "-q", "--bare", "-b", "main", f"{home}/remote.git"],
                 ["-C", project, "init", "-q", "-b", "main"], ["-C", project, "add", "."],
                 ["-C", project, "commit", "-q", "-m", "first"],
                 ["-C", project, "remote", "add", "origin", f"{home}/remote.git"],
                 ["-C", project, "push", "-q", "-u", "origin", "main"],
                 ["-C", project, "commit", "-q", "--amend", "-m", "first, reworded"]):
        subprocess.run(["git", *args], cwd=home, env=env, check=True, capture_output=True)
    with open(f"{project}/notes.txt", "a") as f:
        f.write("uncommitted work\n")
    return env


def alive(pid: int) -> bool:
    """pid runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class Tmux:
    """A private tmux server: its own socket and config in the temp dir."""

    def __init__(self, root: str, env: dict[str, str]) -> None:
        self.env, self.sock, self.conf = env, f"{root}/tmux.sock", f"{root}/tmux.conf"
        with open(self.conf, "w") as f:
            f.write("set -g status off\nset -g remain-on-exit on\n")  # keep an error shown

    def __call__(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["tmux", "-S", self.sock, "-f", self.conf, *args], env=self.env,
                              capture_output=True, text=True, check=check, timeout=30).stdout

    def screen(self, escapes: bool = False) -> str:
        # -N keeps trailing spaces, so reverse-video bars span the whole width
        return self("capture-pane", "-p", "-N", *(["-e"] if escapes else []), "-t", "0")

    def wait_for(self, *texts: str, escapes: bool = False) -> str:
        """Poll until every text shows and the blast radius is measured; the screen read
        is the one returned (the time limit is against hangs only)."""
        deadline = time.monotonic() + 30
        while True:
            screen = self.screen(escapes)
            plain = Text.from_ansi(screen).plain if escapes else screen
            if all(t in plain for t in texts) and "measuring ..." not in plain:
                return screen
            if time.monotonic() > deadline or "Pane is dead" in plain:
                shown = "\n".join(ln for ln in plain.splitlines() if ln.strip())
                raise SystemExit(f"screenshot: {texts!r} never appeared:\n{shown}")
            time.sleep(0.1)

    def kill(self) -> None:
        """Kill the server and wait until it and the console are gone."""
        pids = self("display-message", "-p", "-t", "0", "#{pid} #{pane_pid}", check=False)
        self("kill-server", check=False)
        deadline = time.monotonic() + 10
        while any(alive(int(p)) for p in pids.split()) and time.monotonic() < deadline:
            time.sleep(0.05)


def main(out: str) -> None:
    root = tempfile.mkdtemp(prefix="gatesh-demo-")
    gates: list[subprocess.Popen[bytes]] = []
    tmux: Tmux | None = None
    try:
        env = world(root)
        project = f"{env['HOME']}/project"
        for cmd, severity in COMMANDS:
            got = json.loads(subprocess.run(  # exit 1 means ask
                [exe("gatectl"), "check", "--json", "--", cmd], cwd=project, env=env,
                check=False, capture_output=True, text=True).stdout)
            if (got["decision"], got["severity"]) != ("ask", severity):
                raise SystemExit(f"screenshot: {cmd!r} is {got['decision']}/{got['severity']}")
        tmux = Tmux(root, env)
        argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), exe("gatectl"), "approve"]
        tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", env["HOME"],
             shlex.join(argv))
        tmux.wait_for(" pending  |")
        for n, (cmd, _) in enumerate(COMMANDS, 1):
            gates.append(subprocess.Popen(       # an agent that runs `bash -c CMD`
                [exe("gatectl"), "run", "--", "bash", "-c", cmd], cwd=project, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            tmux.wait_for(f" {n} pending  |")
        tmux.wait_for(ARMED[0])                          # the first request takes keys
        tmux("send-keys", "-t", "0", *["Down"] * (len(COMMANDS) - 1))
        shot = tmux.wait_for(COMMANDS[-1][0], ARMED[COMMANDS[-1][1] == "critical"],
                             escapes=True).rstrip("\n")
        console = Console(record=True, width=WIDTH, file=io.StringIO(), force_terminal=True,
                          color_system="truecolor")
        console.print(Text.from_ansi(shot, no_wrap=True, overflow="crop"))
        console.save_svg(out, title="gatectl approve")
        deadline = time.monotonic() + 30                 # deny all: n (high), Esc (critical)
        while " 0 pending  |" not in (screen := tmux.screen()):
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshot: the requests were not denied:\n{screen}")
            if ARMED[0] in screen or ARMED[1] in screen:  # a stray key only denies or is ignored
                tmux("send-keys", "-t", "0", "n" if ARMED[0] in screen else "Escape")
                time.sleep(0.3)
            time.sleep(0.1)
        for g in gates:
            if g.wait(timeout=30) != 126:
                raise SystemExit(f"screenshot: a gate exited {g.returncode}, not 126")
    finally:
        for g in gates:
            if g.poll() is None:
                g.terminate()
                g.wait(timeout=30)
        if tmux is not None:
            tmux.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else OUT)
