"""docs/screenshot.py: the README's picture comes from a live console and leaves nothing behind."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from gtutil import REPO
from tmuxpane import have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")


def _running_under(root: str) -> list[str]:
    """Command lines of live processes that mention root (zombies are not running)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if root in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@pytest.fixture
def short_tmp():
    """The script's TMPDIR: short, since socket paths are limited to about 100 bytes."""
    tmp = tempfile.mkdtemp(prefix="gs-")
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_screenshot_renders_the_live_console(tmp_path, short_tmp):
    out = tmp_path / "console.svg"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "docs", "screenshot.py"),
                           str(out)], env={**os.environ, "TMPDIR": short_tmp},
                          capture_output=True, text=True, timeout=180, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    svg = html.unescape(out.read_text()).replace("\xa0", " ")
    assert svg.startswith("<svg") and "gatectl approve" in svg      # the window title
    for text in ("gatesh approve", "2 pending", "CRITICAL", "git:push_force",
                 "git push --force origin main", "gatectl run: bash -c", "branch main",
                 "1 commit on origin/main not in main would be lost", "type  main  and press"):
        assert text in svg, text
    assert os.listdir(short_tmp) == []                              # the temp dir is gone
    assert _running_under(short_tmp) == []                          # and nothing runs there
