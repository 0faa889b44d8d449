"""The audit log itself: rotation under concurrency, verification and anchors, masking,
syslog export.  Real processes, real sockets, temp HOME/XDG dirs.

Concurrency is tested twice, each time 50 processes x 20 records with rotation: real gates
(`gatesh -c true` in dry-run: ~80 s on 2 cores, several minutes on a loaded machine) and
plain processes calling audit.append (seconds; rotates far more often).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest
from conftest import write_launcher
from gtutil import REPO, make_world

from gatesh.audit import GENESIS, append, log_files, read_records, record_hash
from gatesh.mask import mask

_CTL = '''#!%(python)s
import sys
sys.path.insert(0, %(repo)r)
from gatesh.ctl import main
sys.exit(main())
'''


@pytest.fixture
def w(tmp_path):
    world = make_world(str(tmp_path), mode="dry-run")
    bindir = os.path.join(world.root, "bin")
    os.makedirs(bindir)
    world.gatesh = write_launcher(os.path.join(bindir, "gatesh"))  # type: ignore[attr-defined]
    world.gatectl = os.path.join(bindir, "gatectl")  # type: ignore[attr-defined]
    with open(world.gatectl, "w") as f:  # type: ignore[attr-defined]
        f.write(_CTL % {"python": sys.executable, "repo": REPO})
    os.chmod(world.gatectl, 0o755)  # type: ignore[attr-defined]
    return world


def ctl(world, *args: str) -> tuple[int, list[str]]:
    r = world.run([world.gatectl, "log", *args])
    return r.returncode, (r.stdout + r.stderr).decode().splitlines()


def all_records(path: str) -> list[dict[str, object]]:
    return [r for f in log_files(path) for r in read_records(f)]


def assert_chain(recs: list[dict[str, object]]) -> None:
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert recs[0]["prev"] == GENESIS
    for prev, cur in itertools.pairwise(recs):
        assert cur["prev"] == prev["hash"]
    assert all(r["hash"] == record_hash(r) for r in recs)


# --- log_files and rotation -------------------------------------------------------------

def test_log_files_without_rotation(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    assert log_files(path) == []
    append(path, {"event": "x"})
    assert log_files(path) == [path]


def test_rotation_continues_the_chain_across_files(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    for i in range(60):
        append(path, {"event": "decision", "n": i, "pad": "x" * 100}, max_bytes=1024)
    files = log_files(path)
    assert len(files) > 3 and files[-1] == path
    for f in files[:-1]:
        assert os.path.getsize(f) <= 1024
        first = read_records(f)[0]["seq"]
        assert f == f"{path}.{first}"  # named by their first seq
    nums = [int(f.rsplit(".", 1)[1]) for f in files[:-1]]
    assert nums == sorted(nums)  # oldest first
    recs = all_records(path)
    assert len(recs) == 60 and [r["n"] for r in recs] == list(range(60))
    assert_chain(recs)


def test_a_record_larger_than_max_bytes_gets_a_file_of_its_own(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    append(path, {"event": "a"}, max_bytes=1024)
    append(path, {"event": "b", "pad": "x" * 5000}, max_bytes=1024)
    append(path, {"event": "c"}, max_bytes=1024)
    assert [len(read_records(f)) for f in log_files(path)] == [1, 1, 1]
    assert_chain(all_records(path))


def test_1000_records_from_50_concurrent_processes_with_rotation(tmp_path):
    path = str(tmp_path / "state" / "audit.jsonl")
    code = ("import sys; sys.path.insert(0, sys.argv[3]); from gatesh.audit import append\n"
            "for i in range(20):\n"
            "    append(sys.argv[1], {'event': 'decision', 'w': int(sys.argv[2]), 'i': i,"
            " 'pad': 'x' * 300}, max_bytes=16384)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, path, str(n), REPO])
             for n in range(50)]
    assert [p.wait(timeout=600) for p in procs] == [0] * 50
    recs = all_records(path)
    assert len(recs) == 1000 and all(r["event"] == "decision" for r in recs)
    assert sorted((r["w"], r["i"]) for r in recs) == [(n, i) for n in range(50)
                                                      for i in range(20)]
    assert_chain(recs)
    assert len(log_files(path)) > 10  # rotation happened while they all wrote
    assert not [n for n in os.listdir(os.path.dirname(path)) if ".new-" in n]


def test_1000_decisions_from_50_concurrent_real_gates_with_rotation(w):
    w.write_config("[audit]\nmax_bytes = 65536\n")
    loop = f"for i in $(seq 20); do {w.gatesh} -c true || exit 1; done"
    procs = [subprocess.Popen(["bash", "-c", loop], cwd=w.project, env=w.env,
                              stdin=subprocess.DEVNULL) for _ in range(50)]
    assert [p.wait(timeout=1800) for p in procs] == [0] * 50
    recs = all_records(w.audit)
    assert len(recs) == 1000
    assert all(r["event"] == "decision" and r["outcome"] == "run" for r in recs)
    assert len(log_files(w.audit)) > 5  # rotated while the gates ran
    assert_chain(recs)
    rc, out = ctl(w, "verify")
    assert rc == 0 and out[-1].startswith("1000 records, chain intact, head 1000 "), out


def test_verify_while_writers_rotate_sees_a_consistent_prefix(tmp_path):
    from gatesh.auditverify import check, snapshot
    path = str(tmp_path / "audit.jsonl")
    append(path, {"event": "start"})
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from gatesh.audit import append\n"
            "for i in range(30):\n"
            "    append(sys.argv[1], {'event': 'decision', 'pad': 'x' * 200}, max_bytes=2048)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, path, REPO]) for _ in range(8)]
    walks = 0
    while walks < 3 or any(p.poll() is None for p in procs):
        findings, count, head, _ = check(snapshot(path), [])
        walks += 1
        assert findings == [] or "partly written" in findings[0], findings
        assert count == head  # every record from seq 1 to the head, none skipped
    assert [p.wait() for p in procs] == [0] * 8
    assert check(snapshot(path), [])[:3] == ([], 241, 241)


# --- verify and anchors -----------------------------------------------------------------

def _fill(world, n: int = 6, **kw: object) -> None:
    for i in range(n):
        append(world.audit, {"event": "decision", "verdict": "deny" if i == 2 else "allow",
                             "command": f"cmd {i}"}, **kw)  # type: ignore[arg-type]


def _lines(world) -> list[str]:
    with open(world.audit) as f:
        return f.readlines()


def _write(world, lines: list[str]) -> None:
    with open(world.audit, "w") as f:
        f.writelines(lines)


def test_intact_log_verifies_and_anchors(w):
    _fill(w)
    rc, out = ctl(w, "verify")
    head = all_records(w.audit)[-1]
    assert rc == 0 and out == [f"6 records, chain intact, head 6 {head['hash']}"]
    rc, out = ctl(w, "anchor")
    assert rc == 0 and out == [f"6:{head['hash']}"]
    rc, out = ctl(w, "verify", "--anchor", out[0])
    assert rc == 0 and out[0] == "1 anchor held", out


def test_empty_log_verifies(w):
    rc, out = ctl(w, "verify")
    assert rc == 0 and out == [f"0 records, chain intact, head 0 {GENESIS}"]


def test_edited_field_is_a_hash_mismatch(w):
    _fill(w)
    lines = _lines(w)
    lines[2] = lines[2].replace('"verdict":"deny"', '"verdict":"allow"')
    _write(w, lines)
    rc, out = ctl(w, "verify")
    assert rc == 1
    assert out[0].startswith(f"{w.audit}:3: seq 3: hash mismatch"), out
    assert "chain BROKEN" in out[-1]


def test_deleted_middle_record_is_a_gap(w):
    _fill(w)
    lines = _lines(w)
    del lines[2]
    _write(w, lines)
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{w.audit}:3: seq gap after seq 2"), out
    assert "seq 3 missing: records were removed" in out[0]


def test_swapped_records_are_reported_as_reordered(w):
    _fill(w)
    lines = _lines(w)
    lines[2], lines[3] = lines[3], lines[2]
    _write(w, lines)
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{w.audit}:3: seq 4 where seq 3 was expected"), out
    assert "reordered" in out[0]


def test_edited_and_rehashed_record_breaks_the_next_prev(w):
    _fill(w)
    lines = _lines(w)
    rec = json.loads(lines[2])
    rec["verdict"] = "allow"
    rec["hash"] = record_hash(rec)
    lines[2] = json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n"
    _write(w, lines)
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{w.audit}:4: seq 4: prev does not match"), out


def test_truncated_tail_needs_an_anchor(w):
    _fill(w)
    _, out = ctl(w, "anchor")
    anchor = out[0]
    _write(w, _lines(w)[:-2])
    assert ctl(w, "verify")[0] == 0  # the chain alone cannot see it (approval.md 10.3)
    rc, out = ctl(w, "verify", "--anchor", anchor)
    assert rc == 1
    assert out[0].startswith(f"anchor 6:{anchor[2:18]}...: the log ends at seq 4"), out
    assert "chain intact but anchor check FAILED" in out[-1]


def test_rewrite_and_rehash_needs_an_anchor(w):
    _fill(w)
    _, out = ctl(w, "anchor")
    anchor = out[0]
    prev = GENESIS
    lines = []
    for rec in [json.loads(ln) for ln in _lines(w)]:
        if rec["seq"] == 3:
            rec["verdict"] = "allow"
        rec["prev"] = prev
        rec["hash"] = prev = record_hash(rec)
        lines.append(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
    _write(w, lines)
    assert ctl(w, "verify")[0] == 0
    rc, out = ctl(w, "verify", "--anchor", anchor)
    assert rc == 1 and "holds seq 6 with another hash: the log was rewritten" in out[0], out


def test_anchors_from_a_file_of_syslog_lines(w, tmp_path):
    _fill(w)
    head = all_records(w.audit)[-1]
    f = tmp_path / "anchors.txt"
    f.write_text(f'Nov 22 host gatesh[1]: gatesh-anchor {{"event":"anchor","hash":"{head["hash"]}",'
                 f'"seq":6}}\nkept: 2:{all_records(w.audit)[1]["hash"]}\n')
    rc, out = ctl(w, "verify", "--anchor", f"@{f}")
    assert rc == 0 and out[0] == "2 anchors held", out
    rc, out = ctl(w, "verify", "--anchor", "6:nothex")
    assert rc != 0 and "want SEQ:HASH" in " ".join(out)


def test_rotation_keeps_verify_working_and_sees_a_removed_file(w):
    _fill(w, 40, max_bytes=1024)
    files = log_files(w.audit)
    assert len(files) >= 4
    rc, out = ctl(w, "verify")
    assert rc == 0 and out[-1].startswith("40 records, chain intact, head 40 "), out
    with open(files[1]) as f:  # an edit inside a rotated file: its file:line
        lines = f.readlines()
    lines[1] = lines[1].replace('"allow"', '"deny"')
    with open(files[1], "w") as f:
        f.writelines(lines)
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{files[1]}:2: seq "), out
    os.unlink(files[1])
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{files[2]}:1: seq gap"), out
    os.unlink(files[0])
    rc, out = ctl(w, "verify")
    assert rc == 1 and out[0].startswith(f"{files[2]}:1: the log starts at seq "), out


# --- masking and the environment --------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("AWS_SECRET_ACCESS_KEY=abc123 aws s3 ls", "AWS_SECRET_ACCESS_KEY=*** aws s3 ls"),
    ('export GITHUB_TOKEN="ghp_a b"; ls', "export GITHUB_TOKEN=***; ls"),
    ("PGPASSWORD=pw psql -h db", "PGPASSWORD=*** psql -h db"),
    ("password=pw SECRET=s ./run", "password=*** SECRET=*** ./run"),
    ("MYSQL_PWD=pw mysql", "MYSQL_PWD=*** mysql"),
    ("docker run -e OPENAI_API_KEY=sk-1 img", "docker run -e OPENAI_API_KEY=*** img"),
    ("tool --password=hunter2 x", "tool --password=*** x"),
    ("tool --token abc x", "tool --token *** x"),
    ("tool --client-secret 'a b' x", "tool --client-secret *** x"),
    ("mysql -u root -p's3 cret' db", "mysql -u root -p*** db"),
    ("mysqldump -psecret db > d.sql", "mysqldump -p*** db > d.sql"),
    ("git clone https://me:p@ss@host/r", "git clone https://me:***@host/r"),
    ("curl -H 'Authorization: Bearer abc.def' https://x", "curl -H 'Authorization: Bearer ***' https://x"),
    ('curl -H "X-Api-Key: k1" u', 'curl -H "X-Api-Key: ***" u'),
    ("curl -u bob:pw https://x", "curl -u bob:*** https://x"),
    ("sshpass -p pw ssh h", "sshpass -p *** ssh h"),
])
def test_masking(text, want):
    assert mask(text) == want


@pytest.mark.parametrize("text", [
    "mkdir -pv x", "TOKENIZER_PARALLELISM=false python x", "PWD=/x OLDPWD=/y ls",
    "docker login --password-stdin reg", "psql --no-password db", "TOKEN=$(cat f) x",
    "curl http://host:8080/x", "git push ssh://git@host:22/x", "mysql -u root -p db",
    "AWS_ACCESS_KEY_ID=AKIA1 aws s3 ls", "rm -rf build", "",
])
def test_no_masking(text):
    assert mask(text) == text


def test_the_gate_masks_commands_and_never_records_the_environment(w):
    env = dict(w.env, DEPLOY_SECRET_TOKEN="env-secret-4711", OTHER="plain-env-0815")
    r = w.run([w.gatesh, "-c", "true $DEPLOY_SECRET_TOKEN"], env=env)
    assert r.returncode == 0
    r = w.run([w.gatesh, "-c", "export GITHUB_TOKEN=ghp_literal9999; echo -u me:pw9999 u"],
              env=env)
    with open(w.audit, "rb") as f:
        raw = f.read()
    assert b"env-secret-4711" not in raw and b"plain-env-0815" not in raw
    assert b"ghp_literal9999" not in raw and b"pw9999" not in raw
    recs = all_records(w.audit)
    assert recs[0]["command"] == "true $DEPLOY_SECRET_TOKEN"
    assert recs[1]["command"] == "export GITHUB_TOKEN=***; echo -u me:*** u"
    assert_chain(recs)


# --- syslog export ----------------------------------------------------------------------

@pytest.fixture
def short_dir():
    d = tempfile.mkdtemp(prefix="gsx", dir="/tmp")  # AF_UNIX paths are short
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _recv(s: socket.socket) -> str:
    s.settimeout(30)
    return s.recv(65536).decode()


def test_export_to_a_unix_datagram_socket(w, short_dir):
    path = os.path.join(short_dir, "log")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    try:
        w.write_config(f'[audit]\nsyslog = "{path}"\n')
        assert w.run([w.gatesh, "-c", "PASSWORD=zz9 true"]).returncode == 0
        msg = _recv(s)
        assert msg.startswith("<13>gatesh[") and "]: gatesh-audit {" in msg
        rec = json.loads(msg.split("gatesh-audit ", 1)[1])
        assert rec == all_records(w.audit)[0] and "zz9" not in msg
        rc, out = ctl(w, "anchor")
        assert rc == 0
        msg = _recv(s)
        assert "gatesh-anchor " in msg
        a = json.loads(msg.split("gatesh-anchor ", 1)[1])
        assert f"{a['seq']}:{a['hash']}" == out[0]
    finally:
        s.close()


def test_export_over_udp(w):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        w.write_config(f'[audit]\nsyslog = "udp://127.0.0.1:{s.getsockname()[1]}"\n')
        assert w.run([w.gatesh, "-c", "true"]).returncode == 0
        msg = _recv(s)
        assert msg.startswith("<13>1 ") and " gatesh " in msg and " gatesh-audit {" in msg
        rec = json.loads(msg.split("gatesh-audit ", 1)[1])
        assert rec["hash"] == all_records(w.audit)[0]["hash"]
    finally:
        s.close()


def test_failed_export_never_blocks_and_verify_reports_it(w, short_dir):
    w.write_config(f'[audit]\nsyslog = "{short_dir}/nobody-listens"\n')
    w.env["GATESH_MODE"] = "enforce"
    r = w.run([w.gatesh, "-c", "true"])
    assert r.returncode == 0
    assert len(all_records(w.audit)) == 1
    rc, out = ctl(w, "verify")
    assert rc == 0
    assert out[0].startswith("warning: 1 record could not be sent to syslog"), out
    assert out[-1].startswith("1 records, chain intact")


@pytest.mark.parametrize("text, line", [
    ('[audit]\nmax_bytes = "big"\n', 2),
    ("[audit]\n\nmax_bytes = 10\n", 3),
    ("[audit]\nsyslog = 5\n", 2),
    ('[audit]\nsyslog = "relative/path"\n', 2),
    ('[audit]\nsyslog = "udp://host"\n', 2),
])
def test_bad_audit_config_names_file_and_line(w, text, line):
    from gatesh.config import load
    from gatesh.errors import ConfigError
    w.write_config(text)
    with pytest.raises(ConfigError) as e:
        load(w.env)
    assert e.value.path == w.config and e.value.line == line


def test_audit_config_defaults_and_values(w):
    from gatesh.config import load
    cfg = load(w.env)
    assert cfg.audit_max_bytes == 10 << 20 and cfg.audit_syslog is False
    w.write_config('[audit]\nmax_bytes = 0\nsyslog = true\n')
    cfg = load(w.env)
    assert cfg.audit_max_bytes == 0 and cfg.audit_syslog is True


def test_the_approver_masks_the_command_of_a_request(w):
    from gatesh.approver import Approver, Pending, Requester
    from gatesh.config import load
    ap = Approver(load(w.env), lambda p, state: None)
    who = Requester(pid=1, uid=0, sid=1, tty="none", started=0.0, cwd="/", registered=False,
                    agent="", chain=())
    p = Pending({"id": "r1", "nonce": "n" * 16, "command": "curl --token tk-777 u"}, who,
                None, None, "high", "")  # type: ignore[arg-type]
    ap._record("request", p)
    ap.record_event("approver_start")
    recs = all_records(w.audit)
    assert recs[0]["command"] == "curl --token *** u"
    with open(w.audit) as f:
        assert "tk-777" not in f.read()
    assert recs[1]["event"] == "approver_start"
    assert_chain(recs)
