"""The audit log: hash chain, write-ahead under a lock, concurrency, failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gatesh.audit import GENESIS, append, read_records, record_hash
from gatesh.errors import AuditUnwritable


def test_first_record_starts_the_chain(tmp_path):
    path = str(tmp_path / "state" / "audit.jsonl")
    rec = append(path, {"event": "decision", "command": "ls"})
    assert rec["seq"] == 1 and rec["prev"] == GENESIS
    assert rec["hash"] == record_hash(rec)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_records_chain_onto_each_other(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    for i in range(5):
        append(path, {"event": "decision", "n": i})
    recs = read_records(path)
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    for prev, cur in zip(recs, recs[1:]):
        assert cur["prev"] == prev["hash"]
    assert all(r["hash"] == record_hash(r) for r in recs)


def test_canonical_lines_are_single_line_json(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    append(path, {"command": "printf 'a\\nb'\nrm x", "weird": "\u202e\x1b"})
    raw = open(path, "rb").read()
    assert raw.count(b"\n") == 1
    assert json.loads(raw)["command"] == "printf 'a\\nb'\nrm x"


def test_fields_cannot_overwrite_chain_fields(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    append(path, {"event": "x"})
    rec = append(path, {"seq": 99, "prev": "forged", "event": "y"})
    assert rec["seq"] == 2 and rec["prev"] != "forged"


def test_concurrent_writers_never_interleave(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    code = ("import sys; from gatesh.audit import append\n"
            "for i in range(10): append(sys.argv[1], {'event': 'decision', 'w': sys.argv[2], 'i': i,"
            " 'pad': 'x' * 3000})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, path, str(w)]) for w in range(20)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    recs = read_records(path)
    assert len(recs) == 200
    assert [r["seq"] for r in recs] == list(range(1, 201))
    for prev, cur in zip(recs, recs[1:]):
        assert cur["prev"] == prev["hash"]
    assert all("_bad" not in r for r in recs)


def test_unwritable_log_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AuditUnwritable) as e:
        append(str(blocker / "audit.jsonl"), {"event": "x"})
    assert "audit log" in str(e.value)


def test_damaged_tail_is_chained_not_hidden(tmp_path):
    path = tmp_path / "audit.jsonl"
    append(str(path), {"event": "a"})
    with open(path, "ab") as f:
        f.write(b"{not json\n")
    rec = append(str(path), {"event": "b"})
    assert rec["seq"] == 0  # the break shows in the sequence, for verification to report
