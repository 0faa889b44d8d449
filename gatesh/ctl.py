"""gatectl: the human's tool.  check, rules; one error boundary that maps errors to exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import ExitStatus, GateshError

__all__ = ["main"]

_VERDICT_EXIT = {"allow": 0, "ask": 1, "deny": 2}


def _config(mode: str | None = None) -> object:
    from .config import load
    env = dict(os.environ)
    if mode:
        env["GATESH_MODE"] = mode
    return load(env)


def _decision_json(d: object) -> dict[str, object]:
    from .model import Decision
    assert isinstance(d, Decision)
    from .policy import severity_of
    sev = severity_of(d.matches)
    return {
        "decision": d.verdict.value,
        "parsed": d.parsed,
        "rules": list(dict.fromkeys(m.rule_id for m in d.matches)),
        "why": d.why,
        "severity": sev.value if sev else None,
        "reason": d.reason,
        "blocked": d.blocked,
        "command": d.command,
        "display": d.display,
        "harness": d.harness,
        "matches": [{"rule": m.rule_id, "severity": m.severity.value, "verdict": m.verdict.value,
                     "why": m.why, "safer": m.safer, "targets": list(m.targets),
                     "command": m.command} for m in d.matches],
        "notes": list(d.notes),
    }


_PLAIN_ANSWERS: dict[tuple[object, ...], str] = {}


def _answer_line(d: object, encode: Callable[[object], str]) -> str:
    """One `--jsonl` answer: the --json fields, less the request's own text (and the display
    and harness when they add nothing); most answers are one of a few constant lines."""
    if not d.matches and not d.harness and d.display == d.command:  # type: ignore[attr-defined]
        key = (d.verdict, d.parsed, d.reason, d.why, d.blocked)  # type: ignore[attr-defined]
        line = _PLAIN_ANSWERS.get(key)
        if line is None:
            ans = _decision_json(d)
            for k in ("command", "notes", "display", "harness"):
                del ans[k]
            line = _PLAIN_ANSWERS[key] = encode(ans) + "\n"
        return line
    ans = _decision_json(d)
    del ans["command"], ans["notes"]
    if not ans["harness"]:
        del ans["harness"]
    return encode(ans) + "\n"


def cmd_check(args: argparse.Namespace) -> int:
    from .gate import Request, reviewed
    cfg = _config(args.mode)
    if args.jsonl:
        return _check_jsonl(cfg)
    words = list(args.command)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise GateshError("nothing to check; usage: gatectl check [--json] [--explain] -- COMMAND")
    text = words[0] if len(words) == 1 else " ".join(words)
    cwd = os.path.abspath(args.cwd or os.getcwd())
    d = reviewed(Request(text, cwd, "check", os.environ), cfg)  # type: ignore[arg-type]
    if args.json:
        sys.stdout.write(json.dumps(_decision_json(d), ensure_ascii=False) + "\n")
    else:
        from .checkview import show
        show(d, explain=args.explain)
    return _VERDICT_EXIT[d.verdict.value]


_DECODER = json.JSONDecoder()


def _request(raw: bytes) -> object:
    """json.loads(raw), without its per-call detours for the usual line: a UTF-8 object.

    Anything else, or anything that does not decode cleanly, goes to json.loads, so errors
    (and their messages, which the answer quotes) are exactly json.loads's.
    """
    if raw[:2] == b'{"':  # json.loads would pick UTF-8 for these first bytes too
        try:
            s = raw.decode("utf-8", "surrogatepass")
            obj, end = _DECODER.raw_decode(s)
        except ValueError:
            pass
        else:
            if end == len(s) or not s[end:].strip(" \t\n\r"):  # json's whitespace only
                return obj
    return json.loads(raw)


def _check_jsonl(cfg: object) -> int:
    """The batch protocol judge.py speaks: one JSON request per line in, one answer out."""
    from .gate import Request, reviewed
    out = sys.stdout
    default_cwd = os.getcwd()
    env = dict(os.environ)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder
    # A batch makes many short-lived records: at the default threshold (700 allocations) the
    # collector ran every few commands and took about 3% of the time; a tenth as often, <1%.
    import gc
    gc.set_threshold(10_000)
    fd = sys.stdin.fileno()
    rest = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            lines, rest = [rest] if rest.strip() else [], b""
        else:
            *lines, rest = (rest + chunk).split(b"\n")
        # One write per chunk read, not per line: with PYTHONUNBUFFERED (or write_through)
        # every write is a syscall into the client's pipe, and that cost more than the gate.
        answers: list[str] = []
        try:
            for raw in lines:
                if not raw.strip():
                    continue
                try:
                    req = _request(raw)
                    command = req["command"]
                    if not isinstance(command, str):
                        raise TypeError("command must be a string")
                    cwd = req.get("cwd") or default_cwd
                    d = reviewed(Request(command, cwd, "check", env), cfg)  # type: ignore[arg-type]
                    answers.append(_answer_line(d, encode))
                    continue
                except (ValueError, KeyError, TypeError) as e:
                    ans = {"decision": "ask", "parsed": False, "rules": [],
                           "why": f"bad request line: {e}", "reason": "bad_request"}
                answers.append(encode(ans) + "\n")
        finally:  # what was answered goes out even if a later line raises
            if answers:
                out.write("".join(answers))
        # every line read so far is answered: a client waiting for an answer gets it now
        out.flush()
        if not chunk:
            return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from . import rulescli
    cfg = _config()
    if args.action == "list":
        return rulescli.list_rules(cfg, args.json)
    return rulescli.test_rules(cfg, args.files)


def cmd_approve(args: argparse.Namespace) -> int:
    from .console import run_console
    return run_console(_config())


def cmd_run(args: argparse.Namespace) -> int:
    from .launcher import run_agent
    argv = list(args.agent)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise GateshError("nothing to run; usage: gatectl run -- AGENT [ARGS]")
    return run_agent(_config(), argv)


def cmd_log(args: argparse.Namespace) -> int:
    cfg = _config()
    if args.action in ("verify", "anchor"):
        from . import auditverify
        return auditverify.verify(cfg, args) if args.action == "verify" else \
            auditverify.anchor(cfg, args)
    from .logview import show
    return show(cfg, args)


def cmd_report(args: argparse.Namespace) -> int:
    from .report import run_report
    return run_report(_config(), args)


def cmd_install(args: argparse.Namespace) -> int:
    from . import install
    if args.uninstall:
        return install.uninstall(os.environ, sys.stdout)
    opts = install.Options(prefix=args.prefix, sh=args.sh, zsh=args.zsh,
                           agents=tuple(args.agents or ()))
    return install.install(opts, os.environ, sys.stdout)


def cmd_hook(args: argparse.Namespace) -> int:
    from .hooks import run
    return run(args.harness, sys.stdout, sys.stderr)  # never raises: a hook must block


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor  # reports a broken config itself: no _config() here
    return run_doctor(args.json)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import Options, run_demo
    return run_demo(Options(auto=args.auto or "", keep=args.keep, pause=args.pause))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatectl", description="The human's side of gatesh.")
    p.add_argument("--version", action="version", version=f"gatectl (gatesh) {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")
    c = sub.add_parser("check", help="say what gatesh would decide for a command")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--jsonl", action="store_true",
                   help='read {"command": ..., "cwd": ...} lines on stdin, answer one JSON line each')
    c.add_argument("--explain", action="store_true",
                   help="show the parsed command, unwrapping steps, targets and rules")
    c.add_argument("--cwd", help="resolve paths against DIR (default: the current directory)")
    c.add_argument("--mode", choices=["enforce", "dry-run", "no-human"],
                   help="judge as in this mode (default: the configured one)")
    c.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND")
    c.set_defaults(func=cmd_check)
    r = sub.add_parser("rules", help="list or test rules")
    r.add_argument("action", choices=["list", "test"])
    r.add_argument("files", nargs="*", help="rule files to test (default: every loaded rule)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_rules)
    a = sub.add_parser("approve", help="the approval console: run it in a separate terminal")
    a.set_defaults(func=cmd_approve)
    u = sub.add_parser("run", help="start an agent with gatesh as its shell, in a new session")
    u.add_argument("agent", nargs=argparse.REMAINDER, help="-- AGENT [ARGS]")
    u.set_defaults(func=cmd_run)
    lg = sub.add_parser("log", help="show, follow or verify the audit log")
    lg.add_argument("action", nargs="?", choices=["show", "verify", "anchor"], default="show")
    lg.add_argument("--since", help="only records newer than this (30m, 2h, 7d, or an ISO time)")
    lg.add_argument("--verdict", choices=["allow", "ask", "deny"])
    lg.add_argument("--rule", help="only records naming this rule id (glob)")
    lg.add_argument("--session", help="only records from this session (gate pid's session id)")
    lg.add_argument("--grep", help="only records whose command contains this text")
    lg.add_argument("--follow", "-f", action="store_true", help="keep printing new records")
    lg.add_argument("--json", action="store_true", help="one JSON record per line")
    lg.add_argument("--anchor", dest="anchors", action="append", default=[],
                    help="SEQ:HASH kept elsewhere; verify checks the log still holds it")
    lg.set_defaults(func=cmd_log)
    rp = sub.add_parser("report", help="what the gate asked or denied over a time window")
    rp.add_argument("--since", default="7d", help="window start (30m, 2h, 7d, or an ISO time)")
    rp.add_argument("--until", help="window end (default: now)")
    rp.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    rp.add_argument("--json", action="store_true", help="machine-readable summary")
    rp.set_defaults(func=cmd_report)
    ins = sub.add_parser("install", help="make the shim directory and config; add agent hooks")
    ins.add_argument("--prefix", metavar="DIR",
                     help="put the shims in DIR/bin (default: $XDG_DATA_HOME/gatesh/bin)")
    ins.add_argument("--sh", action="store_true", help="also link sh to gatesh")
    ins.add_argument("--zsh", action="store_true", help="also link zsh to gatesh")
    ins.add_argument("--agent", dest="agents", action="append",
                     choices=["claude", "codex", "gemini", "cursor"],
                     help="add gatesh's hook to this agent's user settings (repeatable)")
    ins.add_argument("--uninstall", action="store_true",
                     help="remove exactly what gatectl install made")
    ins.set_defaults(func=cmd_install)
    hk = sub.add_parser("hook", help="answer an agent's pre-tool hook (run by the agent)")
    hk.add_argument("harness", nargs="?", help="claude, codex, gemini or cursor")
    hk.set_defaults(func=cmd_hook)
    dr = sub.add_parser("doctor", help="check the set-up: bash, shims, config, rules, "
                        "approver, audit log, agent hooks; say how to fix each problem")
    dr.add_argument("--json", action="store_true", help="machine-readable results")
    dr.set_defaults(func=cmd_doctor)
    dm = sub.add_parser("demo", help="see gatesh at work in this terminal, on a throwaway "
                        "directory")
    dm.add_argument("--auto", choices=["yes", "no"],
                    help="answer the request for you instead of waiting for y or n")
    dm.add_argument("--keep", action="store_true",
                    help="leave the throwaway directory for inspection")
    dm.add_argument("--pause", type=float, default=1.5, metavar="SECONDS",
                    help="pause before each of the agent's commands (default: 1.5)")
    dm.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitStatus.USAGE
    try:
        return int(args.func(args))
    except GateshError as e:
        if args.debug:
            raise
        print(f"gatectl: {e}", file=sys.stderr)
        return 3 if args.cmd == "check" else ExitStatus.ERROR
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
