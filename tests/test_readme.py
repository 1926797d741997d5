"""The README's generated blocks are current and it documents the commands CI relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_catalogue_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "update_readme.py"), "--check",
                             str(ROOT / "README.md")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_shows_setup_and_test_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in text and "make demo" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
