"""A private tmux server that runs one program in a pane, as a person's terminal would.

Tests read the screen with `capture-pane` and type with `send-keys`, exactly what a human
(or an attacker with the same uid) can do.  The server has its own socket in the test's
temp dir and no config file, and is killed at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time

__all__ = ["Pane", "have_tmux"]


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


class Pane:
    def __init__(self, root: str, env: dict[str, str], width: int = 150,
                 height: int = 48) -> None:
        self.root = root
        self.sock = os.path.join(root, "tmux.sock")
        self.env = env
        self.width, self.height = width, height
        conf = os.path.join(root, "tmux.conf")
        with open(conf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g status off\nset -g history-limit 5000\n")
        self.conf = conf

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.env["HOME"],
               "TERM": "xterm-256color"}
        return subprocess.run(["tmux", "-S", self.sock, "-f", self.conf, *args], env=env,
                              capture_output=True, text=True, check=check, timeout=30)

    def start(self, argv: list[str], cwd: str | None = None) -> None:
        envs = [f"{k}={v}" for k, v in self.env.items()]
        cmd = " ".join(shlex.quote(a) for a in ["env", "-i", *envs, "TERM=xterm-256color",
                                                 *argv])
        self.tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height),
                  "-c", cwd or self.env["HOME"], cmd)

    def screen(self, escapes: bool = False) -> str:
        args = ["capture-pane", "-p", "-J", "-t", "0"]
        if escapes:
            args.insert(2, "-e")
        return self.tmux(*args).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Poll the screen until text shows (a generous limit against hangs, not a timing check)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared on the screen:\n{screen}")

    def wait_gone(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text not in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} stayed on the screen:\n{screen}")

    def keys(self, *keys: str, literal: bool = False) -> None:
        args = ["send-keys", "-t", "0"]
        if literal:
            args.append("-l")
        self.tmux(*args, *keys)

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "0", "#{pane_pid}").stdout)

    def pane_tty(self) -> str:
        return self.tmux("display-message", "-p", "-t", "0", "#{pane_tty}").stdout.strip()

    def dead(self) -> bool:
        out = self.tmux("display-message", "-p", "-t", "0", "#{pane_dead}", check=False)
        return out.stdout.strip() == "1"

    def wait_dead(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.dead():
                return self.screen()
            time.sleep(0.1)
        raise AssertionError(f"the pane's program did not exit:\n{self.screen()}")

    def close(self) -> None:
        self.tmux("kill-server", check=False)
