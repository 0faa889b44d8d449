"""The scripted agent of `gatectl demo`: runs each command through the real gatesh.

Started by the demo as `python -m gatesh.demoagent GATESH PAUSE CMD...` in a session of its
own, with no terminal, in the throwaway project, like a real agent's tool process.  It
registers itself in the demo's session registry (so the console shows where requests come
from, as under `gatectl run`), runs `gatesh -c CMD` for each command after a short pause, and
reports on stdout, one JSON line per event:

    {"i": 0, "event": "start", "pid": 1234}
    {"i": 0, "event": "done", "exit": 0, "out": "first lines of output", "reason": "",
     "told": []}

`reason` is the gate's reason code when it blocked the command (its last stderr line), and
`told` the first and last lines of the BLOCKED message the agent got.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["main", "blocked_reason"]

_STATUS = re.compile(r"^gatesh: status=blocked reason=(\S+)", re.MULTILINE)
_OUT_CHARS = 200


def blocked_reason(stderr: str) -> str:
    """The reason code of the BLOCKED message's last line ("" when the command ran)."""
    found = _STATUS.findall(stderr)
    return found[-1] if found else ""


def _report(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _run(gatesh: str, i: int, command: str) -> None:
    proc = subprocess.Popen([gatesh, "-c", command], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _report(i=i, event="start", pid=proc.pid)
    out, err = proc.communicate()
    text, errors = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    reason = blocked_reason(errors)
    lines = [ln for ln in errors.splitlines() if ln.startswith("gatesh: ")]
    _report(i=i, event="done", exit=proc.returncode, out=" ".join(text.split())[:_OUT_CHARS],
            reason=reason, told=[lines[0], lines[-1]] if reason and len(lines) > 1 else [])


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m gatesh.demoagent GATESH PAUSE CMD...", file=sys.stderr)
        return 2
    gatesh, pause, commands = argv[0], float(argv[1]), argv[2:]
    from . import config, sessions
    runtime_dir = config.default_paths(os.environ)["runtime_dir"]
    session = sessions.register(runtime_dir, os.getpid(), os.getsid(0), 0,
                                ["gatesh demo agent"])
    try:
        for i, command in enumerate(commands):
            time.sleep(pause)
            _run(gatesh, i, command)
    except BrokenPipeError:  # the demo is gone: stop quietly
        return 1
    finally:
        sessions.unregister(session)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
