#!/usr/bin/env python3
"""Start-up time of gatesh against bash and a bare Python, measured in one run.

Each round runs every command once, in turn, so that load on the machine falls on all of
them alike:

    gatesh -c true            bash -c true            python3 -I -c pass
    gatesh -c 'cd src && git log --oneline | head -5'   bash -c (the same)

The git pipeline runs in a scratch repository with a src directory and a few commits.
gatesh runs in enforce mode (GATESH_MODE unset) with HOME and the XDG directories in a
temp dir.  Prints the median of each and the ratios; with --check, exits 1 when
gatesh -c true takes more than 1.6x python, or the git pipeline more than 2.5x python.

    python3 bench/startup.py [--rounds 30] [--gatesh PATH] [--check]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CHECK_TRUE = 1.6     # gatesh -c true / python3 -I -c pass
CHECK_GIT = 2.5      # gatesh -c '<git pipeline>' / python3 -I -c pass
GIT_PIPELINE = "cd src && git log --oneline | head -5"


def find_gatesh() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "gatesh")
    return cand if os.access(cand, os.X_OK) else shutil.which("gatesh")


def make_env(root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "LANG", "LC_ALL", "TERM", "USER", "LOGNAME")}
    for key, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "run"),
                     ("XDG_CACHE_HOME", "cache"), ("TMPDIR", "tmp")):
        env[key] = os.path.join(root, sub)
        os.makedirs(env[key], mode=0o700, exist_ok=True)
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid",
               GIT_CONFIG_NOSYSTEM="1")
    return env


def make_repo(root: str, env: dict[str, str]) -> str:
    repo = os.path.join(root, "home", "repo")
    os.makedirs(os.path.join(repo, "src"))
    subprocess.run(["git", "init", "-q", repo], env=env, check=True)
    for i in range(6):
        with open(os.path.join(repo, "src", "main.py"), "a") as f:
            f.write(f"print({i})\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
        subprocess.run(["git", "commit", "-q", "-m", f"commit {i}"], cwd=repo, env=env,
                       check=True)
    return repo


def time_once(argv: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"bench: {argv[0]} exited {p.returncode}:\n"
                         f"{p.stderr.decode(errors='replace')}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", "-n", type=int, default=30)
    ap.add_argument("--gatesh", help="the gatesh executable (default: the installed one)")
    ap.add_argument("--bash", default=shutil.which("bash", path="/usr/bin:/bin") or "bash")
    ap.add_argument("--check", action="store_true",
                    help=f"exit 1 unless gatesh -c true <= {CHECK_TRUE}x python and the "
                         f"git pipeline <= {CHECK_GIT}x python")
    opts = ap.parse_args(argv)
    gatesh = opts.gatesh or find_gatesh()
    if not gatesh:
        ap.error("gatesh is not installed; pass --gatesh PATH")
    python = os.path.realpath(sys.executable)

    with tempfile.TemporaryDirectory(prefix="gatesh-bench.") as root:
        env = make_env(root)
        repo = make_repo(root, env)
        runs = {
            "gatesh -c true": [gatesh, "-c", "true"],
            "bash -c true": [opts.bash, "-c", "true"],
            "python3 -I -c pass": [python, "-I", "-c", "pass"],
            "gatesh -c <git pipeline>": [gatesh, "-c", GIT_PIPELINE],
            "bash -c <git pipeline>": [opts.bash, "-c", GIT_PIPELINE],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for cmd in runs.values():               # warm the caches once, unmeasured
            time_once(cmd, env, repo)
        for _ in range(opts.rounds):
            for name, cmd in runs.items():
                times[name].append(time_once(cmd, env, repo))

    med = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    print(f"gatesh: {gatesh}\npython: {python}\nrounds: {opts.rounds}\n")
    for name, ms in med.items():
        print(f"  {name:28s} median {ms:7.1f} ms")
    py = med["python3 -I -c pass"]
    r_true = med["gatesh -c true"] / py
    r_git = med["gatesh -c <git pipeline>"] / py
    print()
    print(f"  gatesh -c true / python          {r_true:5.2f}x   (check: <= {CHECK_TRUE}x)")
    print(f"  gatesh -c true / bash            {med['gatesh -c true'] / med['bash -c true']:5.2f}x")
    print(f"  gatesh git pipeline / python     {r_git:5.2f}x   (check: <= {CHECK_GIT}x)")
    print(f"  gatesh git pipeline / bash       "
          f"{med['gatesh -c <git pipeline>'] / med['bash -c <git pipeline>']:5.2f}x")
    if opts.check and (r_true > CHECK_TRUE or r_git > CHECK_GIT):
        print("bench: start-up check FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
