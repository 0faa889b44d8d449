#!/usr/bin/env python3
"""Issue 6 acceptance: a dry-run "day" of the agent-style and tldr corpora, replayed through the
real `gatesh -c` with bash = "/bin/true" (nothing runs), gives a `gatectl report` whose counts
equal what `gatectl check` says for the same commands.

Every command runs as its own `gatesh -c COMMAND` process, a few at a time (they append to one
audit log under its lock), in a temp HOME holding a git project; then the same commands go
through `gatectl check --jsonl` with the project as cwd, and `gatectl report --json` covers the
replay's window.  Prints both counts (totals by verdict and per rule), whether they are equal,
and whether the log's hash chain survived the parallel writers.

    python3 bench/replay_report.py [--sample N] [--workers 4] [--seed 6] [--html FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = os.path.join(os.path.dirname(REPO), "shared", "corpora")
VERDICTS = ("allow", "ask", "deny")


def exe(name: str) -> str:
    cand = os.path.join(os.path.dirname(sys.executable), name)
    found = cand if os.access(cand, os.X_OK) else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed: pip install -e .")
    return found


def load_commands(sample: int | None, seed: int) -> list[str]:
    """Every agent-style command, then the tldr ones (a random sample of them when sample
    is given: sample counts both corpora together)."""
    commands: list[list[str]] = []
    for name in ("agent-style", "tldr"):
        path = os.path.join(CORPORA, name, "commands.jsonl")
        if not os.path.exists(path):
            sys.exit(f"{path} is missing; this benchmark needs ../shared/corpora")
        with open(path, encoding="utf-8") as f:  # argv cannot carry a NUL
            commands.append([c for c in (json.loads(x)["command"] for x in f if x.strip())
                             if "\0" not in c])
    agent, tldr = commands
    if sample is not None and sample < len(agent) + len(tldr):
        tldr = random.Random(seed).sample(tldr, max(0, sample - len(agent)))
    return agent + tldr


def make_home(root: str) -> tuple[dict[str, str], str]:
    home = os.path.join(root, "home")
    project = os.path.join(home, "project")
    os.makedirs(os.path.join(project, "src"))
    env = {"HOME": home, "USER": os.environ.get("USER", "root"), "LANG": "C.UTF-8",
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "XDG_CONFIG_HOME": os.path.join(home, ".config"),
           "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
           "XDG_RUNTIME_DIR": os.path.join(root, "run"),
           "XDG_CACHE_HOME": os.path.join(home, ".cache")}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    os.makedirs(os.path.join(env["XDG_CONFIG_HOME"], "gatesh"))
    with open(os.path.join(env["XDG_CONFIG_HOME"], "gatesh", "config.toml"), "w") as f:
        f.write('mode = "dry-run"\nbash = "/bin/true"\n')
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, env=env, check=True)
    return env, project


def expected(answers: list[dict[str, object]]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    from gatesh.report import expected_counts
    return expected_counts(answers)


def chain_intact(path: str) -> bool:
    """The hash chain across the log's files (rotated ones first), recomputed here."""
    from gatesh.audit import log_files
    prev = "0" * 64
    for name in log_files(path):
        with open(name, "rb") as f:
            for line in f:
                rec = json.loads(line)
                body = {k: v for k, v in rec.items() if k != "hash"}
                text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
                if rec["prev"] != prev or digest != rec["hash"]:
                    return False
                prev = rec["hash"]
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int,
                    help="replay N commands: all agent-style ones, the rest drawn from tldr "
                         "at random (default: every command of both)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--html", help="also write the report's HTML page here")
    args = ap.parse_args()
    commands = load_commands(args.sample, args.seed)
    gatesh, gatectl = exe("gatesh"), exe("gatectl")
    root = tempfile.mkdtemp(prefix="gatesh-replay-")
    try:
        env, project = make_home(root)
        start = time.time()

        def one(c: str) -> int:
            return subprocess.run([gatesh, "-c", c], cwd=project, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=120).returncode

        with ThreadPoolExecutor(args.workers) as pool:
            codes = Counter(pool.map(one, commands))
        replay_s = time.time() - start
        lines = "".join(json.dumps({"command": c, "cwd": project}) + "\n" for c in commands)
        r = subprocess.run([gatectl, "check", "--jsonl"], input=lines.encode(), cwd=project,
                           env=env, capture_output=True, check=True)
        answers = [json.loads(x) for x in r.stdout.splitlines()]
        since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start - 60))
        rep_args = [gatectl, "report", "--json", "--since", since]
        rep = json.loads(subprocess.run(rep_args, cwd=project, env=env, capture_output=True,
                                        check=True).stdout)
        if args.html:
            subprocess.run([gatectl, "report", "--since", since, "--html", os.path.abspath(args.html)],
                           cwd=project, env=env, capture_output=True, check=True)
        audit = os.path.join(env["XDG_STATE_HOME"], "gatesh", "audit.jsonl")
        intact = chain_intact(audit)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    want_v, want_r = expected(answers)
    got_r = {k: v["verdicts"] for k, v in rep["rules"].items()}
    print(f"commands replayed: {len(commands)} in {replay_s:.1f} s with {args.workers} workers "
          f"({len(commands) / replay_s:.1f}/s); gatesh -c exit codes: {dict(codes)}")
    print(f"gatectl check : {len(answers)} answers, verdicts {want_v}, {len(want_r)} rules")
    print(f"gatectl report: {rep['decisions']} decisions, verdicts {rep['verdicts']}, "
          f"{len(got_r)} rules, {len(rep['sessions'])} session(s), "
          f"{len(rep['suggestions'])} suggestion(s)")
    print(f"{'rule':40} {'check ask/deny/allow':>22} {'report ask/deny/allow':>22}")
    for rid in sorted(set(want_r) | set(got_r), key=lambda k: -sum(want_r.get(k, {}).values())):
        w, g = want_r.get(rid, {}), got_r.get(rid, {})
        fw = "/".join(str(w.get(v, 0)) for v in ("ask", "deny", "allow"))
        fg = "/".join(str(g.get(v, 0)) for v in ("ask", "deny", "allow"))
        print(f"{rid:40} {fw:>22} {fg:>22}{'' if w == g else '   <-- differs'}")
    equal = rep["decisions"] == len(answers) and rep["verdicts"] == want_v and got_r == want_r
    print(f"hash chain intact after parallel writers: {'yes' if intact else 'NO'}")
    print(f"counts equal: {'YES' if equal else 'NO'}")
    return 0 if equal and intact else 1


if __name__ == "__main__":
    sys.exit(main())
