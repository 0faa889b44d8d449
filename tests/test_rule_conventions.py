"""Conventions the rule packs keep, checked rather than hoped for."""

from __future__ import annotations

import os
import re

import pytest

from gatesh.errors import RuleFileError
from gatesh.rules import builtin_dir, load_file, load_ruleset
from gtutil import REPO

PACKS = sorted(f for f in os.listdir(builtin_dir()) if f.endswith(".toml"))
RULES = load_ruleset(None, None).rules


def test_ids_are_unique_and_prefixed_by_their_pack():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for r in RULES:
        assert re.fullmatch(r"[a-z0-9_]+:[a-z0-9_]+", r.id), r.id
        assert r.id.split(":")[0] == os.path.splitext(os.path.basename(r.source))[0]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_has_both_kinds_of_example_and_a_safer_way(rule):
    assert rule.examples_match, f"{rule.id} has no example that must match"
    assert rule.examples_ignore, f"{rule.id} has no example that must not match"
    assert rule.safer, f"{rule.id} offers no safer alternative"
    assert rule.why.endswith("."), f"{rule.id}: why should be one sentence"


def test_every_pack_is_named_in_the_readme():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for pack in PACKS:
        assert f"`{pack}`" in readme, f"rules/{pack} is not described in README.md"


def test_tamper_rules_deny_without_asking():
    for r in RULES:
        if r.pack == "tamper":
            assert r.tamper and r.verdict.value == "deny", r.id


def _pack(tmp_path, body, name="mine"):
    p = tmp_path / f"{name}.toml"
    p.write_text(f'[pack]\nname = "{name}"\n' + body)
    return str(p)


@pytest.mark.parametrize("body, line, words", [
    ('[[rule]]\nid = "mine:x"\nseverity = "huge"\nwhy = "w."\nmatch = {command = ["rm"]}\n', 4,
     "severity"),
    ('[[rule]]\nid = "other:x"\nseverity = "low"\nwhy = "w."\nmatch = {command = ["rm"]}\n', 4,
     "pack name"),
    ('[[rule]]\nid = "mine:x"\nseverity = "low"\nwhy = "w."\nmatch = {comand = ["rm"]}\n', 7,
     "unknown match key"),
    ('[[rule]]\nid = "mine:x"\nseverity = "low"\nwhy = "w."\nverdict = "allow"\nmatch = {command = ["rm"]}\n',
     4, "verdict"),
    ('[[rule]]\nid = "mine:x"\nseverity = "low"\nwhy = "w."\nmatch = {command = ["rm"], text = "("}\n',
     4, "bad pattern"),
    ('[[rule\nid = 1\n', 3, "not valid TOML"),
])
def test_bad_rule_files_name_file_and_line(tmp_path, body, line, words):
    path = _pack(tmp_path, body)
    with pytest.raises(RuleFileError) as e:
        load_file(path)
    assert str(e.value).startswith(f"{path}:{line}"), str(e.value)
    assert words in str(e.value)


def test_project_rules_only_add(tmp_path):
    proj = tmp_path / "proj"
    (proj / ".gatesh" / "rules").mkdir(parents=True)
    (proj / ".gatesh" / "rules" / "fs.toml").write_text(
        '[pack]\nname = "fs"\n[[rule]]\nid = "fs:rm_recursive_home"\nseverity = "low"\n'
        'why = "loosened."\nmatch = {command = ["nothing-at-all"]}\n'
        '[[rule]]\nid = "fs:no_make_clean"\nseverity = "medium"\nwhy = "we keep build."\n'
        'safer = "ask"\nmatch = {command = ["make"], args = ["clean"]}\n')
    rs = load_ruleset(None, str(proj))
    home_rule = next(r for r in rs.rules if r.id == "fs:rm_recursive_home")
    assert home_rule.origin == "builtin"
    assert any("fs:rm_recursive_home" in p for p in rs.problems)
    assert any(r.id == "fs:no_make_clean" and r.origin == "project" for r in rs.rules)


def test_user_rules_load_from_their_directory(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "mine.toml").write_text(
        '[pack]\nname = "mine"\n[[rule]]\nid = "mine:no_deploy"\nseverity = "high"\n'
        'why = "deploys need a human."\nmatch = {command = ["make"], args = ["deploy"]}\n')
    rs = load_ruleset(str(d), None)
    assert "mine:no_deploy" in {r.id for r in rs.for_command("make")}
