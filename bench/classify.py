#!/usr/bin/env python3
"""Classification speed of the batch path: the tldr corpus through gatesh's gate in one process.

Reviews every command of ../shared/corpora/tldr/commands.jsonl (parse, unwrap, classify,
decide) in this process and prints commands per second and the p50 and p99 time per
command, beside a plain-Python baseline measured in the same run (splitting each command
with str.split, the least any classifier does).  Also times `gatectl check --jsonl` end to
end on the same corpus.  Each is run --repeat times (default 3) and the best run is reported,
as timeit does: the others measure what else the machine was doing.  With --check, exits 1
when the in-process rate is below --min-rate commands/s (default 20000).

    python3 bench/classify.py [--limit N] [--repeat 3] [--check] [--min-rate 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "shared", "corpora", "tldr", "commands.jsonl")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N commands")
    ap.add_argument("--check", action="store_true", help="fail below --min-rate")
    ap.add_argument("--min-rate", type=float, default=20000.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported")
    args = ap.parse_args()
    if not os.path.exists(CORPUS):
        print("bench: ../shared/corpora/tldr is absent; nothing to measure")
        return 0
    with open(CORPUS, encoding="utf-8") as f:
        cmds = [json.loads(line)["command"] for line in f if line.strip()]
    if args.limit:
        cmds = cmds[:args.limit]

    from gatesh.config import load
    from gatesh.gate import Request, review

    root = tempfile.mkdtemp(prefix="gatesh-bench-")
    env = {"HOME": root, "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": os.path.join(root, "c"),
           "XDG_STATE_HOME": os.path.join(root, "s"), "XDG_CACHE_HOME": os.path.join(root, "k")}
    cfg = load(env)
    review(Request("true", root, "check", env), cfg)  # load the stages and the rules once

    base_start = time.perf_counter()
    for c in cmds:
        c.split()
    base = time.perf_counter() - base_start

    clock = time.perf_counter
    best: tuple[float, list[float]] | None = None
    for _ in range(max(1, args.repeat)):
        times: list[float] = []
        start = clock()
        for c in cmds:
            t0 = clock()
            review(Request(c, root, "check", env), cfg)
            times.append(clock() - t0)
        total = clock() - start
        if best is None or total < best[0]:
            best = (total, times)
    total, times = best  # type: ignore[misc]
    rate = len(cmds) / total

    payload = "".join(json.dumps({"command": c, "cwd": root}) + "\n" for c in cmds).encode()
    batch = float("inf")
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "gatesh.ctl", "check", "--jsonl"],
                           input=payload, capture_output=True, env=dict(os.environ, **env),
                           check=False)
        batch = min(batch, time.perf_counter() - t0)
    answers = p.stdout.count(b"\n")

    times.sort()
    p50 = statistics.median(times) * 1e6
    p99 = times[int(len(times) * 0.99) - 1] * 1e6
    print(f"commands: {len(cmds)} (tldr)")
    print(f"  gate, in process            {rate:10,.0f} commands/s   p50 {p50:6.1f} us   "
          f"p99 {p99:7.1f} us")
    print(f"  gatectl check --jsonl       {answers / batch:10,.0f} commands/s   "
          f"(whole process, {answers} answers)")
    print(f"  plain Python str.split     {len(cmds) / base:11,.0f} commands/s   "
          f"(gate/Python time ratio {total / base:.0f}x)")
    if args.check and rate < args.min_rate:
        print(f"FAIL: {rate:,.0f} commands/s is below {args.min_rate:,.0f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
