#!/usr/bin/env python3
"""Interactive sessions: gatesh against bash in the same pty set-up, measured in one run.

Each shell (`bash --norc -i`, `gatesh --norc -i`) runs on a pty this script owns, with
PS1 set to a marker, HOME and the XDG directories in a temp dir, gatesh in enforce mode.
Rounds alternate between the two shells, so load on the machine falls on both alike:

    throughput   50 MB of output (`head -c 50000000 /dev/zero | tr '\\0' x`) read from the
                 pty as fast as it comes: MB/s and gatesh/bash
    echo, prompt one key typed at the prompt until its echo arrives (readline's echo
                 under bash, gatesh's own echo of a held line)
    echo, cat    one key typed to `cat` in the foreground until the terminal echoes it
                 (passes through both gatesh ptys)
    round trip   `true` + Enter until the next prompt (gatesh gates the line)
    first command  the same for the session's first command, timed on its own before the
                 rest (gatesh has just loaded its parser and rules); everything above runs
                 on a shell that has run a command

Prints medians, ratios, and the added time per keystroke echo; with --check, exits 1 when
throughput is below 0.9x bash's or a keystroke echo adds more than 2 ms (median).

    python3 bench/session.py [--rounds 25] [--mb 50] [--check]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import sys
import tempfile
import time

PROMPT = b"BENCH_PROMPT> "
CHECK_THROUGHPUT = 0.9   # gatesh MB/s / bash MB/s, at least
CHECK_ECHO_MS = 2.0      # added milliseconds per keystroke echo (median), at most


def find_gatesh() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "gatesh")
    return cand if os.access(cand, os.X_OK) else shutil.which("gatesh")


def make_env(root: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm",
           "LANG": "C.UTF-8", "PS1": PROMPT.decode(), "HISTFILE": "/dev/null"}
    for key, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run"),
                     ("XDG_CACHE_HOME", "cache"), ("TMPDIR", "tmp")):
        env[key] = os.path.join(root, sub)
        os.makedirs(env[key], mode=0o700, exist_ok=True)
    return env


class Shell:
    """One shell on a pty owned by this process."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        self.expect(PROMPT, 20)

    def read(self, timeout: float) -> bytes:
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            raise TimeoutError("the shell went quiet")
        return os.read(self.fd, 1 << 16)

    def expect(self, marker: bytes, timeout: float) -> int:
        """Read until marker; returns the number of bytes read.  Only the last few bytes are
        kept between reads: the reader should cost as little as it can, since it shares
        the machine with the shell it measures."""
        tail = b""
        total = 0
        keep = len(marker) - 1
        while True:
            chunk = self.read(timeout)
            total += len(chunk)
            window = tail + chunk
            if marker in window:
                return total
            tail = window[-keep:] if keep else b""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        self.send(b"exit\r")
        try:
            while self.read(5):
                pass
        except (OSError, TimeoutError):
            pass
        os.waitpid(self.pid, 0)


def throughput(sh: Shell, nbytes: int) -> float:
    sh.send(b"head -c %d /dev/zero | tr '\\0' x\r" % nbytes)
    start = time.perf_counter()
    got = sh.expect(PROMPT, 60)
    took = time.perf_counter() - start
    assert got >= nbytes, f"only {got} bytes arrived"
    return nbytes / took / 1e6


def echo_at_prompt(sh: Shell) -> float:
    start = time.perf_counter()
    sh.send(b"z")
    sh.expect(b"z", 5)
    took = time.perf_counter() - start
    sh.send(b"\x7f")   # backspace: the prompt is empty again
    time.sleep(0.01)
    _drain(sh)
    return took


def echo_in_cat(sh: Shell, keys: int) -> list[float]:
    sh.send(b"cat\r")
    time.sleep(0.2)
    _drain(sh)
    out = []
    for _ in range(keys):
        start = time.perf_counter()
        sh.send(b"q")
        sh.expect(b"q", 5)
        out.append(time.perf_counter() - start)
    sh.send(b"\r\x04")
    sh.expect(PROMPT, 5)
    return out


def round_trip(sh: Shell) -> float:
    start = time.perf_counter()
    sh.send(b"true\r")
    sh.expect(PROMPT, 10)
    return time.perf_counter() - start


def _drain(sh: Shell) -> None:
    while select.select([sh.fd], [], [], 0.02)[0]:
        os.read(sh.fd, 1 << 16)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--keys", type=int, default=20, help="keystrokes per echo measurement")
    ap.add_argument("--gatesh", default=find_gatesh())
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.gatesh:
        print("bench: gatesh is not installed")
        return 2
    bash = shutil.which("bash") or "/bin/bash"
    root = tempfile.mkdtemp(prefix="gatesh-bench-session-")
    env = make_env(root)
    shells = {"bash": [bash, "--norc", "-i"], "gatesh": [args.gatesh, "--norc", "-i"]}
    res: dict[str, dict[str, list[float]]] = {
        n: {"mbps": [], "echo_prompt": [], "echo_cat": [], "round_trip": [], "first": []}
        for n in shells}
    try:
        for _ in range(args.rounds):
            for name, argv in shells.items():
                sh = Shell(argv, env, env["HOME"])
                try:
                    r = res[name]
                    # the first command (gatesh loads its parser and rules for it) is timed
                    # on its own; the rest of the measurements run on a warm shell
                    r["first"].append(round_trip(sh))
                    r["mbps"].append(throughput(sh, args.mb * 1_000_000))
                    r["echo_prompt"].extend(echo_at_prompt(sh) for _ in range(args.keys))
                    r["echo_cat"].extend(echo_in_cat(sh, args.keys))
                    r["round_trip"].extend(round_trip(sh) for _ in range(args.keys))
                finally:
                    sh.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in res.items()}
    b, g = med["bash"], med["gatesh"]
    # each round's pair measured back to back: the median of their ratios shrugs off drift
    ratio = statistics.median(gm / bm for gm, bm in zip(res["gatesh"]["mbps"],
                                                        res["bash"]["mbps"]))
    print(f"interactive sessions, {args.rounds} rounds, {args.mb} MB per throughput run")
    print(f"  throughput        bash {b['mbps']:8.1f} MB/s   gatesh {g['mbps']:8.1f} MB/s"
          f"   gatesh/bash {ratio:.2f}x (median of the rounds' ratios)")
    added = {}
    for key, label in (("echo_prompt", "echo, prompt"), ("echo_cat", "echo, cat"),
                       ("round_trip", "round trip"), ("first", "first command")):
        added[key] = (g[key] - b[key]) * 1000
        print(f"  {label:<16}  bash {b[key] * 1000:8.3f} ms     gatesh {g[key] * 1000:8.3f} ms"
              f"     added {added[key]:+.3f} ms  ({g[key] / b[key]:.2f}x)")
    if args.check:
        bad = []
        if ratio < CHECK_THROUGHPUT:
            bad.append(f"throughput {ratio:.2f}x bash's (limit {CHECK_THROUGHPUT}x)")
        for key in ("echo_prompt", "echo_cat"):
            if added[key] > CHECK_ECHO_MS:
                bad.append(f"{key} adds {added[key]:.3f} ms (limit {CHECK_ECHO_MS} ms)")
        if bad:
            print("bench: FAIL: " + "; ".join(bad))
            return 1
        print("bench: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
