"""`gatectl log`: the audit log as a table or JSON lines, filtered, joined, followed.

The records come from the real gate (`gatesh -c` in a temp HOME, dry-run and enforce mode with
no approver) plus hand-written approver records for the join; `gatectl log` runs as a process
of this repository's code, the way the console script runs it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from gatesh.audit import append, log_files
from gatesh.logview import Tail, decided_by
from gtutil import REPO, gatesh_exe, make_world

ESC_CMD = "echo '[bold]x[/]' '\x1b[31mred'"
_GATECTL = f"import sys; sys.path.insert(0, {REPO!r}); from gatesh.ctl import main; sys.exit(main())"


def gatectl_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", _GATECTL, "log", *args]


def log(w, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    r = w.run(gatectl_argv(*args), env={**w.env, "COLUMNS": "400", **env})
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode(), r.stderr.decode())


def gate(w, command: str, mode: str | None) -> dict[str, object]:
    """Run one command through the real gate; return the decision record it wrote."""
    env = {k: v for k, v in w.env.items() if k != "GATESH_MODE"}
    if mode:
        env["GATESH_MODE"] = mode
    w.run([gatesh_exe(), "-c", command], env=env)
    rec = w.records()[-1]
    assert rec["event"] == "decision" and rec["command"] == command
    return rec


def _exchange(w, template: dict[str, object], command: str, req: str, *, answer: str | None,
              how: str = "", seconds: float = 0.0, approval: dict | None = None,
              decide: bool = True) -> None:
    """A pending record, the approver's request and answer, and the gate's decision, as the
    gate and the approver write them, derived from a real decision record."""
    base = {k: v for k, v in template.items() if k not in ("seq", "ts", "prev", "hash")}
    base.update(command=command, inner=command, request=req)
    base.pop("approval", None)
    append(w.audit, {**base, "event": "pending", "outcome": "blocked", "reason": "ask"})
    append(w.audit, {"event": "request", "request": req, "gate_pid": base["pid"],
                     "approver_pid": 4242, "command": command, "cwd": base["cwd"],
                     "session": 777, "rules": base["rules"], "severity": "critical"})
    if answer:
        append(w.audit, {"event": "answer", "request": req, "gate_pid": base["pid"],
                         "approver_pid": 4242, "answer": answer, "how": how, "note": "",
                         "seconds": seconds, "severity": "critical"})
    if decide:
        ok = answer == "approve"
        rec = {**base, "event": "decision", "outcome": "run" if ok else "blocked",
               "reason": "approved" if ok else "denied"}
        if approval is not None:
            rec["approval"] = approval
        append(w.audit, rec)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One log: allow, dry-run ask, blocked ask (no approver), tamper deny, an approved, a
    denied and a still-waiting request, an approver start, and a command full of markup."""
    w = make_world(str(tmp_path_factory.mktemp("logview")))
    w.recs = {}
    w.recs["ls"] = gate(w, "ls", "dry-run")
    w.recs["esc"] = gate(w, ESC_CMD, "dry-run")
    w.recs["dry"] = gate(w, "git push --force origin dry-branch", "dry-run")
    append(w.audit, {"event": "approver_start", "approver_pid": 4242})
    w.recs["blocked"] = gate(w, "git push --force origin main", None)
    w.recs["deny"] = gate(w, "rm ~/.config/gatesh/config.toml", None)
    t = w.recs["blocked"]
    _exchange(w, t, "git push --force origin approved-branch", "r-approved", answer="approve",
              how="y", seconds=3.2, approval={"answer": "approved", "approver_pid": 4242,
                                               "how": "y", "seconds": 3.25, "note": ""})
    _exchange(w, t, "git push --force origin denied-branch", "r-denied", answer="deny",
              how="n", seconds=1.0)
    _exchange(w, t, "git push --force origin waiting-branch", "r-waiting", answer=None,
              decide=False)
    return w


def rows(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.strip()]


def row_of(out: str, text: str) -> str:
    found = [ln for ln in rows(out) if text in ln]
    assert len(found) == 1, (text, out)
    return found[0]


def test_table_has_one_row_per_command_newest_last(world):
    r = log(world)
    assert r.returncode == 0, r.stderr
    head = rows(r.stdout)[0].split()
    assert head[:3] == ["time", "session", "verdict"] and "decided" in head and "wait" in head
    order = ["ls", "dry-branch", "origin main", "config.toml", "approved-branch",
             "denied-branch", "waiting-branch"]
    at = [next(i for i, ln in enumerate(rows(r.stdout)) if o in ln) for o in order]
    assert at == sorted(at)
    # the pending records of decided requests and the approver's records are folded in
    assert sum("approved-branch" in ln for ln in rows(r.stdout)) == 1


@pytest.mark.parametrize("text, verdict, who", [
    (" ls ", "allow", "auto (allow)"),
    ("dry-branch", "ask dry-run", "dry-run"),
    ("origin main", "ask blocked", "no approver"),
    ("config.toml", "deny blocked", "tamper (deny)"),
    ("approved-branch", "ask run", "human y"),
    ("denied-branch", "ask blocked", "human denied"),
    ("waiting-branch", "ask", "waiting"),
])
def test_rows_say_the_verdict_and_who_decided(world, text, verdict, who):
    line = row_of(log(world).stdout, text)
    assert f" {verdict} " in line and f" {who} " in f"{line} "


def test_rows_show_time_session_rule_cwd_and_wait(world):
    import time
    out = log(world).stdout
    rec = world.recs["blocked"]
    line = row_of(out, "origin main")
    t = time.strftime("%H:%M:%S", time.localtime(
        __import__("gatesh.timewindow", fromlist=["x"]).record_time(rec)))
    assert line.split()[0] == t and line.split()[1] == str(rec["pid"])
    assert "git:push_force" in line and " ~/project " in line  # the cwd, home as ~
    assert line.rstrip().endswith("s")  # the gate's wait for the (absent) approver
    assert row_of(out, "approved-branch").rstrip().endswith(" 3.2s")  # the gate's 3.25 s
    assert row_of(out, "denied-branch").rstrip().endswith(" 1.0s")    # the approver's record


def test_commands_are_shown_escaped_never_as_markup(world):
    out = log(world).stdout
    line = row_of(out, "red")
    assert "[bold]x[/]" in line and "\\x1b[31mred" in line
    assert "\x1b" not in out
    coloured = log(world, FORCE_COLOR="1", TERM="xterm-256color").stdout
    assert "\x1b[" in coloured                      # styles are on...
    assert "[bold]x[/]" in coloured and "\\x1b[31mred" in coloured  # ...the command stays text
    assert "\x1b[31mred" not in coloured and "\x1b[1mx" not in coloured
    assert "\x1b[1;31mdeny blocked" in coloured and "\x1b[1;33mask blocked" in coloured


def test_approver_events_are_muted_rows_unless_filtered(world):
    assert "approver_start" in log(world).stdout
    assert "approver_start" not in log(world, "--verdict", "ask").stdout


@pytest.mark.parametrize("args, present, absent", [
    (["--verdict", "deny"], ["config.toml"], ["dry-branch", " ls ", "origin main"]),
    (["--verdict", "allow"], [" ls ", "red"], ["config.toml", "origin main"]),
    (["--verdict", "ask"], ["dry-branch", "origin main", "approved-branch", "waiting-branch"],
     [" ls ", "config.toml"]),
    (["--rule", "git:*"], ["dry-branch", "origin main"], [" ls ", "config.toml"]),
    (["--rule", "tamper:gatesh_files"], ["config.toml"], ["origin main"]),
    (["--grep", "branch"], ["dry-branch", "denied-branch"], ["origin main", " ls "]),
    (["--grep", "branch", "--verdict", "allow"], [], ["branch"]),
])
def test_filters(world, args, present, absent):
    out = log(world, *args).stdout
    for p in present:
        assert p in out, (args, p)
    for a in absent:
        assert a not in out, (args, a)
    if not present:
        assert "no matching records" in out


def test_session_filter_matches_the_gate_pid_or_session(world):
    out = log(world, "--session", str(world.recs["deny"]["pid"])).stdout
    assert "config.toml" in out and "origin main" not in out
    # the approver's record of a request carries the gate's session id; the request's later
    # records follow it
    recs = [json.loads(ln) for ln in log(world, "--json", "--session", "777").stdout.splitlines()]
    assert {r["request"] for r in recs} == {"r-approved", "r-denied", "r-waiting"}
    assert [r["event"] for r in recs if r["request"] == "r-approved"] == [
        "request", "answer", "decision"]


def test_since_takes_an_iso_time_and_a_bad_one_is_one_line(world):
    out = log(world, "--since", str(world.recs["blocked"]["ts"])).stdout
    assert "origin main" in out and "config.toml" in out
    assert "dry-branch" not in out and " ls " not in out
    assert "origin main" in log(world, "--since", "2h").stdout
    r = log(world, "--since", "yesterday-ish")
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("gatectl: ")


def test_json_is_the_records_as_written(world):
    r = log(world, "--json")
    with open(world.audit) as f:
        assert r.stdout.splitlines() == f.read().splitlines()


def test_json_filters_keep_a_request_together(world):
    lines = log(world, "--json", "--grep", "approved-branch").stdout.splitlines()
    recs = [json.loads(ln) for ln in lines]
    assert [r["event"] for r in recs] == ["pending", "request", "answer", "decision"]
    assert {r["request"] for r in recs} == {"r-approved"}
    deny = log(world, "--json", "--verdict", "deny").stdout.splitlines()
    assert [json.loads(ln)["seq"] for ln in deny] == [world.recs["deny"]["seq"]]


def test_absent_log_says_so_and_succeeds(tmp_path):
    w = make_world(str(tmp_path))
    r = log(w)
    assert r.returncode == 0 and r.stdout.strip() == f"no audit records yet at {w.audit}"
    r = log(w, "--json")
    assert r.returncode == 0 and r.stdout == "" and "no audit records yet" in r.stderr


def test_old_records_show_their_date_and_bad_lines_stay_visible(tmp_path):
    from gatesh.audit import canonical
    w = make_world(str(tmp_path))
    os.makedirs(os.path.dirname(w.audit))
    old = {"event": "decision", "ts": "2020-01-02T03:04:05.000000Z", "seq": 1, "verdict": "deny",
           "outcome": "blocked", "reason": "rule_deny", "command": "old-command", "pid": 9,
           "rules": ["fs:rm_root"], "mode": "enforce", "cwd": "/"}
    with open(w.audit, "wb") as f:
        f.write(canonical(old) + b"\n" + b"{not json \x1b[2J\n")
    line = row_of(log(w).stdout, "old-command")
    assert line.startswith("2020-01-0") and "rule (deny)" in line  # a local date, not HH:MM:SS
    assert "unreadable line" in row_of(log(w).stdout, "{not json \\x1b[2J")
    assert "no matching records" in log(w, "--since", "1d").stdout
    assert log(w, "--json", "--since", "2019-12-31").stdout.splitlines()[0] == canonical(
        old).decode()


@pytest.mark.parametrize("rec, answer, want", [
    ({"verdict": "allow", "mode": "enforce", "outcome": "run"}, None, ("auto (allow)", None)),
    ({"verdict": "deny", "mode": "enforce", "reason": "rule_deny"}, None, ("rule (deny)", None)),
    ({"verdict": "ask", "mode": "dry-run"}, None, ("dry-run", None)),
    ({"verdict": "ask", "mode": "enforce", "approval": {"answer": "approved", "how": "token",
                                                        "seconds": 2}}, None, ("human token", 2.0)),
    ({"verdict": "ask", "mode": "enforce", "approval": {"answer": "timeout", "seconds": 60}},
     None, ("timeout", 60.0)),
    ({"verdict": "ask", "mode": "enforce", "approval": {"answer": "approved", "how": ""}},
     {"event": "answer", "how": "y"}, ("human y", None)),
    ({"verdict": "ask", "mode": "no-human", "reason": "no_human"}, None, ("no-human mode", None)),
])
def test_decided_by(rec, answer, want):
    assert decided_by(rec, answer) == want


# --- --follow -------------------------------------------------------------------------


@pytest.mark.parametrize("exists", [True, False])
def test_tail_reads_every_file_rotated_between_two_polls(tmp_path, exists):
    path = str(tmp_path / "audit.jsonl")
    if exists:
        append(path, {"event": "x", "n": 0})
    tail = Tail(path)
    assert [r["n"] for r in tail.poll()] == ([0] if exists else [])
    for i in range(1, 6):  # a writer rotating at every record (real appends, a tiny limit)
        append(path, {"event": "x", "n": i}, max_bytes=1)
    assert len(log_files(path)) >= 5
    assert [r["n"] for r in tail.poll()] == [1, 2, 3, 4, 5]
    append(path, {"event": "x", "n": 6})
    assert [r["n"] for r in tail.poll()] == [6] and tail.poll() == []


class Follower:
    """`gatectl log --follow` as a process; its output lines arrive on a queue."""

    def __init__(self, w, *args: str) -> None:
        self.p = subprocess.Popen(gatectl_argv("--follow", *args), cwd=w.project,
                                  env={**w.env, "COLUMNS": "400"}, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:  # type: ignore[union-attr]
            self.lines.put(line)

    def until(self, text: str) -> list[str]:
        """Lines up to and including the first holding text (a hang fails, not passes)."""
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=60)
            except queue.Empty:
                pytest.fail(f"no {text!r} from gatectl log --follow; got {seen}")
            seen.append(line)
            if text in line:
                return seen

    def stop(self) -> int:
        self.p.send_signal(signal.SIGINT)
        try:
            return self.p.wait(timeout=60)
        finally:
            if self.p.poll() is None:
                self.p.kill()


def test_follow_prints_the_log_then_new_commands(tmp_path):
    w = make_world(str(tmp_path), "dry-run")
    gate(w, "echo before-follow", "dry-run")
    f = Follower(w)
    try:
        f.until("before-follow")
        gate(w, "echo after-follow-1", "dry-run")
        gate(w, "git push --force origin after-follow-2", "dry-run")
        got = f.until("after-follow-2")
        assert any("after-follow-1" in ln for ln in got)
        line = next(ln for ln in got if "after-follow-2" in ln)
        assert "ask dry-run" in line and "git:push_force" in line
    finally:
        rc = f.stop()
    assert rc == 0
    assert f.p.stderr.read() == ""  # type: ignore[union-attr]


def test_follow_applies_filters_and_continues_across_rotation(tmp_path):
    w = make_world(str(tmp_path), "dry-run")
    w.write_config("[audit]\nmax_bytes = 1024\n")  # the smallest: about one record a file
    first = gate(w, "echo one", "dry-run")
    f = Follower(w, "--json", "--grep", "echo")
    try:
        assert json.loads(f.until("echo one")[-1])["hash"] == first["hash"]
        gate(w, "ls", "dry-run")                       # filtered out
        said = [gate(w, f"echo two-{i}", "dry-run") for i in range(3)]
        got = [json.loads(ln) for ln in f.until("echo two-2")]
        assert [r["hash"] for r in got] == [r["hash"] for r in said]
    finally:
        rc = f.stop()
    assert rc == 0
    assert len(log_files(w.audit)) >= 3  # the log rotated (twice) under the follower
