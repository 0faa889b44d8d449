"""The rule cache: packs loaded lazily from it decide exactly as packs read from TOML."""

from __future__ import annotations

import os

from gatesh.config import load
from gatesh.gate import Request, review
from gatesh.rules import load_ruleset
from gatesh.rulescli import example_config

EAGER = load_ruleset(None, None)
EXAMPLES = [c for r in EAGER.rules for c in r.examples_match + r.examples_ignore]


def test_cached_lazy_packs_decide_like_the_files(tmp_path):
    cfg = load({"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    cache = str(tmp_path / "cache")
    with example_config(cfg) as (ecfg, project, env):
        for attempt in ("builds the cache", "reads it lazily"):
            lazy = load_ruleset(None, None, (), cache)
            if attempt == "reads it lazily":
                assert lazy.pending, "the second load should defer packs"
                assert len(lazy.rules) < len(EAGER.rules)
            for cmd in EXAMPLES:
                want = [m.rule_id for m in review(Request(cmd, project, "check", env), ecfg,
                                                  EAGER).matches]
                got = [m.rule_id for m in review(Request(cmd, project, "check", env), ecfg,
                                                 lazy).matches]
                assert sorted(got) == sorted(want), (attempt, cmd)
    assert os.path.exists(os.path.join(cache, "rules.marshal"))


def test_a_changed_pack_is_read_again(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    f = d / "mine.toml"
    f.write_text('[pack]\nname = "mine"\n[[rule]]\nid = "mine:a"\nseverity = "high"\n'
                 'why = "w."\nmatch = {command = ["make"], args = ["deploy"]}\n')
    cache = str(tmp_path / "cache")
    assert [r.id for r in load_ruleset(str(d), None, (), cache).by_command["make"]] == ["mine:a"]
    f.write_text(f.read_text().replace("mine:a", "mine:b") + "\n")
    assert [r.id for r in load_ruleset(str(d), None, (), cache).by_command["make"]] == ["mine:b"]
