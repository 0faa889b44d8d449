"""The token typed to approve a critical request: taken from the target, else a random word."""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from gtutil import make_world

from gatesh.challenge import WORDS, token_for
from gatesh.config import load
from gatesh.gate import Request, review
from gatesh.model import Decision, Match, Severity, Verdict


@pytest.fixture
def world(tmp_path):
    return make_world(str(tmp_path))


def token(w, cmd: str, cwd: str | None = None, env: dict[str, str] | None = None) -> str:
    env = env or w.env
    d = review(Request(cmd, cwd or w.project, "check", env), load(env))
    assert d.matches, f"no rule matched {cmd!r}"
    return token_for(d, cwd or w.project, env)


def decision(cmd: str, *targets: str, severity: Severity = Severity.CRITICAL) -> Decision:
    m = Match("t:rule", severity, Verdict.ASK, "why", "", tuple(targets), cmd)
    return Decision(Verdict.ASK, True, (m,), "why", "no_approver", cmd, cmd)


@pytest.mark.parametrize("cmd, want", [
    ("rm -rf ~/proj", "proj"),
    ("rm -rf /srv/*", "srv"),
    ("rm -rf /srv/data", "data"),
    ("sudo rm -rf /var/lib/postgresql", "postgresql"),
    ("cd /opt && rm -rf app", "app"),
    ("git push --force origin main", "main"),
    ("git push origin +feature/x:release", "release"),
    ("dd if=/dev/zero of=/dev/sda bs=1M", "sda"),
    ("mkfs.ext4 /dev/sdb1", "sdb1"),
    ("wipefs -a /dev/sdc", "sdc"),
    ('psql -c "DROP DATABASE shop"', "shop"),
    ("mysql -e 'drop database if exists `orders`'", "orders"),
    ("dropdb -h db.internal -U admin shop", "shop"),
    ("aws s3 rb s3://prod-data --force", "prod-data"),
    ("aws s3 rm s3://prod-data/logs --recursive", "prod-data"),
    ("gsutil rb gs://prod-x", "prod-x"),
    ("kubectl delete ns prod", "prod"),
    ("kubectl delete namespace/staging", "staging"),
    ("kubectl delete deployment web -n prod", "web"),
    ("pulumi destroy -s acme/shop/prod", "prod"),
    ("pulumi destroy --stack=dev2", "dev2"),
])
def test_token_from_target(world, cmd, want):
    assert token(world, cmd) == want


def test_home_gives_its_basename(world):
    assert token(world, "rm -rf ~") == os.path.basename(world.home)
    assert token(world, "rm -rf $HOME/") == os.path.basename(world.home)


def test_force_push_of_current_branch(world):
    subprocess.run(["git", "checkout", "-q", "-b", "topic-7"], cwd=world.project, env=world.env,
                   check=True)
    assert token(world, "git push -f") == "topic-7"
    assert token(world, "git push --force origin HEAD") == "topic-7"
    assert token(world, "git push --force origin topic-7:other") == "other"


def test_terraform_workspace(world):
    assert token(world, "terraform destroy") in WORDS  # nothing names the workspace
    tf = os.path.join(world.project, ".terraform")
    os.makedirs(tf)
    with open(os.path.join(tf, "environment"), "w") as f:
        f.write("staging\n")
    assert token(world, "terraform destroy") == "staging"
    assert token(world, "terraform destroy", env=dict(world.env, TF_WORKSPACE="blue")) == "blue"


def test_critical_match_chosen_over_others(world):
    assert token(world, "rm -rf ~/proj; git push --force origin main") == "main"


def test_random_word_when_nothing_is_named(world):
    assert token(world, "git push --force --all origin") in WORDS
    assert token_for(decision("", ), "/", {}) in WORDS


def test_non_ascii_target_gives_a_random_word(world):
    assert token(world, "rm -rf ~/café") in WORDS
    assert token(world, "rm -rf ~/$'evil\\x1b[2Jname'") in WORDS
    assert token_for(decision("x", "branch ma\x07in"), "/", {}) in WORDS
    assert token_for(decision("x", "/srv/\u202eatad (system)"), "/", {}) in WORDS


def test_answer_keys_are_never_tokens(world):
    for name in ("y", "Y", "n", "yes"):
        assert token(world, f"rm -rf /srv/{name}") in WORDS


def test_long_names_are_trimmed(world):
    got = token(world, "git push --force origin HEAD:release/" + "m" * 40)
    assert got == ("release/" + "m" * 40)[:24]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["branch {}", "/srv/{} (system)", "of=/dev/{}",
                                               "production: {}"]))
def test_tokens_are_short_printable_ascii(name, form):
    got = token_for(decision(f"x {name}", form.format(name)), "/", {})
    assert 2 <= len(got) <= 24
    assert all(" " <= c <= "~" for c in got), repr(got)
    assert got == got.strip() and got.lower() not in ("y", "yes", "n", "no")
