"""Every inline example of every shipped rule: `match` examples must match, `ignore` must not.

Examples run through the whole pipeline (parse, unwrap, classify) in a throwaway home with a
git project on main, so a failure names the rule id and the command.
"""

from __future__ import annotations

import pytest

from gatesh.config import load
from gatesh.gate import Request, review
from gatesh.rules import load_ruleset
from gatesh.rulescli import example_config

RULESET = load_ruleset(None, None)
CASES = [(r.id, cmd, True) for r in RULESET.rules for cmd in r.examples_match] + \
        [(r.id, cmd, False) for r in RULESET.rules for cmd in r.examples_ignore]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("cfg")
    cfg = load({"HOME": str(home), "XDG_CONFIG_HOME": str(home / "c"),
                "XDG_STATE_HOME": str(home / "s"), "PATH": "/usr/bin:/bin"})
    with example_config(cfg) as got:
        yield got


@pytest.mark.parametrize("rule_id, command, should_match", CASES,
                         ids=[f"{r}|{'match' if m else 'ignore'}|{c[:40]}" for r, c, m in CASES])
def test_example(world, rule_id, command, should_match):
    cfg, project, env = world
    d = review(Request(command, project, "check", env), cfg, RULESET)
    got = [m.rule_id for m in d.matches]
    if should_match:
        assert rule_id in got, f"{rule_id} should match {command!r}; matched {got}"
        assert d.verdict.value != "allow"
    else:
        assert rule_id not in got, f"{rule_id} should not match {command!r}; matched {got}"
