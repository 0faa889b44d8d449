"""`gatectl log verify` and `gatectl log anchor`: checking the hash chain against anchors.

verify walks every file of the log (audit.log_files, oldest first) and reports the FIRST break
with its file:line: a record that is not valid JSON, a hash that does not match the record
(edited), a seq gap (removed), a seq going backwards or a later seq before an earlier one
(reordered), a prev that does not match the record before (replaced and rehashed, or removed
and renumbered), a log that does not start at seq 1 (the head or older files removed).
The chain alone cannot see a truncated tail or a rewrite that recomputed every hash: each
`--anchor SEQ:HASH` (kept somewhere the agent cannot write, see `gatectl log anchor`) is
checked to still be in the log with that hash.  `--anchor @FILE` reads anchors from a file:
`SEQ:HASH` tokens or the `gatesh-anchor {...}` lines sent to syslog.

Export failures noted beside the log (auditexport) are reported as one warning line; they
do not make verify fail, since the local log is the authority.  Exit 0 intact, 1 broken.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from typing import BinaryIO

from .config import Config
from .errors import GateshError

__all__ = ["anchor", "check", "head", "parse_anchors", "snapshot", "verify"]

_ANCHOR = re.compile(r"\b(\d+):([0-9a-f]{64})\b")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def parse_anchors(values: list[str]) -> list[tuple[int, str]]:
    """(seq, hash) for each --anchor value; GateshError for a malformed one."""
    import json
    out: list[tuple[int, str]] = []
    for v in values:
        if v.startswith("@"):
            try:
                with open(v[1:], encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError as e:
                raise GateshError(f"cannot read anchors from {v[1:]}: {e.strerror}") from None
            for line in text.splitlines():
                i = line.find("gatesh-anchor {")
                if i >= 0:
                    try:
                        a = json.loads(line[i + 14:])
                        out.append((int(a["seq"]), str(a["hash"])))
                        continue
                    except (ValueError, KeyError, TypeError):
                        pass
                out.extend((int(s), h) for s, h in _ANCHOR.findall(line))
            continue
        m = _ANCHOR.fullmatch(v.strip().lower())
        if not m:
            raise GateshError(f"--anchor {v!r}: want SEQ:HASH (as printed by gatectl log "
                              "anchor) or @FILE")
        out.append((int(m.group(1)), m.group(2)))
    return out


def _lines(files: list[str] | list[tuple[str, BinaryIO]]) -> Iterator[tuple[str, int, bytes]]:
    for item in files:
        if isinstance(item, tuple):
            path, f = item
        else:
            path = item
            try:
                f = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue
        with f:
            for n, raw in enumerate(f, 1):
                if raw.strip():
                    yield path, n, raw


def _parse(raw: bytes) -> dict[str, object] | str:
    """The record, or what is wrong with the line."""
    import json
    if not raw.endswith(b"\n"):
        return "partly written line (no newline at its end)"
    try:
        rec = json.loads(raw)
    except ValueError:
        return "not a JSON record (damaged)"
    if not isinstance(rec, dict):
        return "not a JSON object (damaged)"
    seq, h, prev = rec.get("seq"), rec.get("hash"), rec.get("prev")
    if type(seq) is not int or not isinstance(h, str) or not isinstance(prev, str) \
            or not _HEX64.fullmatch(h) or not _HEX64.fullmatch(prev):
        return "missing or malformed seq, hash or prev (damaged)"
    return rec


def check(files: list[str] | list[tuple[str, BinaryIO]], anchors: list[tuple[int, str]]) -> tuple[list[str], int, int, str]:
    """(findings, number of records, head seq, head hash); no findings: intact."""
    from .audit import GENESIS, record_hash
    findings: list[str] = []
    wanted = {s for s, _ in anchors}
    seen: dict[int, list[tuple[str, str]]] = {}
    count, last_seq, last_hash, last_at, first_seq = 0, 0, GENESIS, "", None
    it = _lines(files)
    ahead = next(it, None)
    while ahead is not None:
        path, n, raw = ahead
        ahead = next(it, None)
        at = f"{path}:{n}"
        rec = _parse(raw)
        count += 1
        if isinstance(rec, str):
            if not findings:
                findings.append(f"{at}: {rec}")
            continue
        seq, h = int(rec["seq"]), str(rec["hash"])  # type: ignore[call-overload]
        if seq in wanted:
            seen.setdefault(seq, []).append((h if record_hash(rec) == h else "", at))
        if first_seq is None:
            first_seq = seq
        if findings:  # after the first break, only the anchors and the tail matter
            last_seq, last_hash = seq, h
            continue
        if record_hash(rec) != h:
            findings.append(f"{at}: seq {seq}: hash mismatch: the record was edited")
        elif count == 1 and (seq != 1 or rec["prev"] != GENESIS):
            findings.append(f"{at}: the log starts at seq {seq}, not at seq 1 after the genesis:"
                            " earlier records or rotated files were removed")
        elif count > 1 and seq <= last_seq:
            findings.append(f"{at}: seq {seq} after seq {last_seq} ({last_at}): seq goes "
                            "backwards: records were reordered")
        elif seq > last_seq + 1:
            nxt = _parse(ahead[2]) if ahead else None
            if isinstance(nxt, dict) and type(nxt["seq"]) is int and nxt["seq"] < seq:
                findings.append(f"{at}: seq {seq} where seq {last_seq + 1} was expected, and "
                                f"seq {nxt['seq']} follows: records were reordered")
            else:
                gap = f"{last_seq + 1}" if seq == last_seq + 2 else f"{last_seq + 1}..{seq - 1}"
                findings.append(f"{at}: seq gap after seq {last_seq} ({last_at}): seq {gap} "
                                "missing: records were removed")
        elif rec["prev"] != last_hash:
            findings.append(f"{at}: seq {seq}: prev does not match the hash of seq {last_seq}"
                            f" ({last_at}): that record was replaced, or records were removed"
                            " and renumbered")
        last_seq, last_hash, last_at = seq, h, at
    for s, h in anchors:
        findings_a = _anchor_finding(s, h, seen.get(s, []), first_seq, last_seq)
        if findings_a:
            findings.append(findings_a)
    return findings, count, last_seq, last_hash


def _anchor_finding(s: int, h: str, got: list[tuple[str, str]], first: int | None,
                    last: int) -> str:
    if any(g == h for g, _ in got):
        return ""
    if got:
        where = got[0][1]
        return (f"anchor {s}:{h[:16]}...: {where} holds seq {s} with another hash: the log was "
                "rewritten after the anchor was taken")
    if first is None or s > last:
        return (f"anchor {s}:{h[:16]}...: the log ends at seq {last}: records after it were "
                "removed (truncated), or the log was rewritten")
    if s < first:
        return (f"anchor {s}:{h[:16]}...: the log starts at seq {first}: older records or "
                "rotated files were removed")
    return f"anchor {s}:{h[:16]}...: the log holds no record with seq {s}: removed"


def snapshot(path: str) -> list[tuple[str, BinaryIO]]:
    """Every file of the log, open: listed, opened and listed again with the same names and
    inodes, so a rotation meanwhile cannot make the walk skip or repeat records."""
    from .audit import log_files
    for _attempt in range(20):
        names = log_files(path)
        opened: list[tuple[str, BinaryIO]] = []
        try:
            for name in names:
                opened.append((name, open(name, "rb")))  # noqa: SIM115 - _lines closes them
            inodes = [os.fstat(f.fileno()).st_ino for _, f in opened]
            if log_files(path) == names and [os.stat(n).st_ino for n in names] == inodes:
                return opened
        except FileNotFoundError:
            pass
        for _, f in opened:
            f.close()
    raise GateshError(f"the audit log {path} keeps rotating; run gatectl log verify again")


def verify(cfg: Config, args: argparse.Namespace) -> int:
    """Check the chain across every file and every anchor; print findings and a summary."""
    anchors = parse_anchors(list(getattr(args, "anchors", None) or []))
    for attempt in range(3):  # a line being written as we read it: walk again
        if attempt:
            import time
            time.sleep(0.05)
        findings, count, seq, h = check(snapshot(cfg.audit_path), anchors)
        if not findings or "partly written" not in findings[0]:
            break
    for line in findings:
        print(line)
    if anchors and not any(ln.startswith("anchor ") for ln in findings):
        print(f"{len(anchors)} anchor{'s' * (len(anchors) != 1)} held")
    _report_exports(cfg)
    chain_ok = not findings or findings[0].startswith("anchor ")
    if not findings:
        print(f"{count} records, chain intact, head {seq} {h}")
        return 0
    state = "chain intact but anchor check FAILED" if chain_ok else "chain BROKEN"
    print(f"{count} records, {state}, head {seq} {h}")
    return 1


def _report_exports(cfg: Config) -> None:
    from .auditexport import failures_path, read_failures
    fails = read_failures(cfg.audit_path)
    if fails:
        last = fails[-1]
        print(f"warning: {len(fails)} record{'s' * (len(fails) != 1)} could not be sent to "
              f"syslog (last: {last.get('ts')} seq {last.get('seq')}: {last.get('error')}); "
              f"see {failures_path(cfg.audit_path)}")


def head(path: str) -> tuple[int, str]:
    """(seq, hash) of the log's last complete record; (0, GENESIS) for an empty log."""
    from .audit import GENESIS, last_complete_line, log_files
    for f in reversed(log_files(path)):
        try:
            with open(f, "rb") as fh:
                line = last_complete_line(fh.fileno())
        except FileNotFoundError:
            continue
        if line.strip():
            rec = _parse(line + b"\n")
            if isinstance(rec, str):
                raise GateshError(f"{f}: the last record is damaged ({rec}); "
                                  "run gatectl log verify")
            return int(rec["seq"]), str(rec["hash"])  # type: ignore[call-overload]
    return 0, GENESIS


def anchor(cfg: Config, args: argparse.Namespace) -> int:
    """Print the head as SEQ:HASH; also send it to syslog when export is configured."""
    seq, h = head(cfg.audit_path)
    if seq == 0:
        raise GateshError(f"the audit log {cfg.audit_path} is empty: nothing to anchor yet")
    print(f"{seq}:{h}")
    if cfg.audit_syslog:
        from .auditexport import send_anchor
        if not send_anchor(cfg.audit_syslog, seq, h, cfg.audit_path):
            print(f"gatectl: could not send the anchor to syslog ({cfg.audit_syslog}); keep "
                  "the line above somewhere the agent cannot write", file=sys.stderr)
            return 1
    return 0
