"""Every shell command in the README and docs/ runs as written, or is listed as not run here.

The fenced ``bash``/``sh``/``console`` blocks of README.md and docs/*.md are read in order
(``console`` blocks: the ``$ `` lines only; a trailing backslash continues a line). Each
command is either *quick* (``archscale catalogue``, ``archscale propose`` without a latency
budget or calibration, ``archscale profile`` of a preset or of a spec file an earlier command
wrote, ``--help``) and is run, in document order, in one temporary directory, with
``bash -c`` exactly as written, and must exit 0; or it matches a ``NOT_RUN`` row (long sweeps,
training, searches, your own files), which says why. A command that is neither fails the
test, so a new example has to be classified. Shell globs in examples must be quoted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")

#: Commands run here: a prefix, and what the command must not contain.
QUICK = (
    ("archscale catalogue", ()),
    ("archscale propose", ("--calibrate", "--verify", "--max-latency-ms")),
    ("archscale profile", (".keras", "reports/")),
)
#: (regex, why it is not run by the test). The first match wins.
NOT_RUN = (
    (r"^make ", "a Makefile target (sets up .venv; report/test/bench/dimensions run minutes)"),
    (r"^archscale bench ", "benchmark sweeps measure in TensorFlow (seconds to minutes per job)"),
    (r"^archscale report", "reads a result store that `archscale bench` fills"),
    (r"^archscale tune ", "trains models (a keras-tuner search)"),
    (r"^archscale inspect ", "trains or loads a model with TensorFlow"),
    (r"^archscale propose .*(--calibrate|--verify|--max-latency-ms)",
     "latency calibration and verification time real Keras models"),
    (r"^archscale profile .*\.keras", "profiles your own saved model"),
    (r"^archscale profile .*reports/", "reads a committed report's spec files"),
    (r"^(pip|python|PYTHONPATH=|sqlite3 |ray |TF_|cd |git )",
     "installs, scripts, studies and other tools, not archscale's own quick commands"),
)


def _open_quote(text: str) -> bool:
    """Whether ``text`` ends inside a single- or double-quoted string."""
    quote = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
    return quote is not None


def _commands(path: Path) -> list[str]:
    """The shell commands of ``path``'s fenced bash/sh/console blocks, in order."""
    commands, lang, pending = [], None, ""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = FENCE.match(line)
        if match:
            lang = None if lang is not None else match.group(1)
            continue
        if lang not in ("bash", "sh", "console"):
            continue
        if lang == "console" and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1] + " "
            continue
        if _open_quote(text):  # a quoted argument spanning lines
            pending = text + " "
            continue
        pending = ""
        if text and not text.startswith("#"):
            commands.append(text)
    return commands


def _all_commands() -> list[tuple[str, str]]:
    return [(path.relative_to(ROOT).as_posix(), cmd) for path in DOCS
            for cmd in _commands(path)]


def _is_quick(command: str) -> bool:
    if command.endswith("--help"):
        return command.startswith("archscale")
    return any((command == prefix or command.startswith(prefix + " "))
               and not any(bad in command for bad in banned)
               for prefix, banned in QUICK)


def _why_not(command: str) -> str | None:
    """Why ``command`` is not run here (``None``: it must be quick)."""
    return next((why for pattern, why in NOT_RUN if re.search(pattern, command)), None)


def test_docs_have_commands():
    commands = _all_commands()
    assert len(commands) > 30
    assert sum(_is_quick(c) for _, c in commands) >= 10


def test_every_command_is_quick_or_listed_as_not_run():
    unclassified = [f"{where}: {cmd}" for where, cmd in _all_commands()
                    if not _is_quick(cmd) and _why_not(cmd) is None]
    assert not unclassified, "classify these commands in tests/test_doc_commands.py:\n" + \
        "\n".join(unclassified)


def unquoted_globs(command: str) -> list[str]:
    """The words of ``command`` holding a glob character (``*``, ``?``, ``[``) outside quotes,
    which the shell would expand; a ``#`` after a space outside quotes starts a comment."""
    words, word, bad, quote = [], "", False, None
    for i, char in enumerate(command + " "):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1] == " "):
            break
        elif char.isspace():
            if bad:
                words.append(word)
            word, bad = "", False
            continue
        elif char in "*?[":
            bad = True
        word += char
    return words + ([word] if bad and word else [])


def test_globs_in_commands_are_quoted():
    unquoted = [f"{where}: {cmd} ({', '.join(words)})" for where, cmd in _all_commands()
                if (words := unquoted_globs(cmd))]
    assert not unquoted, "quote the globs:\n" + "\n".join(unquoted)


def test_the_glob_check_sees_quotes():
    assert unquoted_globs("archscale catalogue --filter resnet*") == ["resnet*"]
    assert unquoted_globs("archscale catalogue --filter 'resnet*'  # a glob: *") == []
    assert unquoted_globs("archscale profile mlp --set 'widths=[512,256]'") == []


@pytest.mark.serial  # bounded by wall time (60 s)
def test_quick_commands_run_as_written(tmp_path):
    """The quick commands, in document order, in one directory (a spec an earlier command
    wrote is there for a later ``archscale profile``); each must exit 0."""
    env = {**os.environ, "ARCHSCALE_CACHE_DIR": str(tmp_path / "cache"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    quick = [(where, cmd) for where, cmd in _all_commands() if _is_quick(cmd)]
    failures = []
    start = time.perf_counter()
    for where, cmd in quick:
        proc = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            failures.append(f"{where}: {cmd}\n  exit {proc.returncode}: "
                            f"{proc.stderr.strip()[-300:]}")
    elapsed = time.perf_counter() - start
    assert not failures, "\n".join(failures)
    assert elapsed < 60, f"{len(quick)} quick commands took {elapsed:.0f} s"


@pytest.mark.parametrize("command", ["archscale catalogue --filter 'resnet*'"])
def test_the_classifier_knows_a_quick_command(command):
    assert _is_quick(command)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text, fence = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        fence = fence != line.startswith("```")
        if not fence and re.match(r"^#+ ", line):
            text.append(_anchor(line.lstrip("#")))
    return set(text)


def test_relative_links_and_anchors_resolve():
    """Every relative link of the README and docs/ names a file that exists and, with a
    ``#fragment``, a heading of that file."""
    broken = []
    for path in DOCS:
        body = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        body = re.sub(r"(`+)(.+?)\1", "", body)  # inline code
        for target in re.findall(r"\]\(([^)\s]+)\)", body):
            if re.match(r"^[a-z]+://", target):
                continue
            file, _, fragment = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if "reports/dimensions" in file:
                continue  # written by the running study (make dimensions)
            if not dest.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
