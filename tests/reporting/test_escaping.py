"""Hostile strings in every free-text field reach the HTML report escaped.

The sweep name, the report directory (the report's title), the database path, a dataset path,
a spec file's name, an architecture label and the error messages that quote them all carry
markup; the page must show each as text and contain none of it as markup.
"""

from __future__ import annotations

import html
import json
import re
import textwrap

import pytest

import archscale
from archscale.cli import main

from .conftest import write_small_npz

EVIL = '<script>alert("x")</script> & <b>\'q\'</b>'
#: Characters a file name may hold (no "/"), with markup.
EVIL_FILE = "<img src=x onerror=alert(1)>&'q'"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("escape")
    where = root / EVIL_FILE  # a directory whose name is markup: db, spec and data live there
    where.mkdir()
    spec_path = where / f"{EVIL_FILE}.json"
    spec_path.write_text(archscale.preset("mlp", input_shape=(64,), classes=10).to_json())
    write_small_npz(where / f"{EVIL_FILE}.npz")
    sweep = where / "sweep.toml"
    sweep.write_text(textwrap.dedent(f"""
        name = {json.dumps(EVIL)}
        measure = ["cost"]
        [[arch]]
        spec = {json.dumps(spec_path.name)}
        name = {json.dumps(EVIL)}
        [[arch]]
        preset = "mlp"
        measure = ["accuracy"]
        datasets = [{json.dumps("npz:" + str(where / (EVIL_FILE + ".npz")))}]
        seeds = [0]
        timeout = 0.05
    """))
    db = str(where / "results.db")
    assert main(["bench", str(sweep), "--db", db]) == 1  # the data job times out, by design
    out = where / f"report {EVIL_FILE}"
    assert main(["report", "--db", db, "--out", str(out)]) == 0
    return (out / "report.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    """The page without <style> and without the data URIs of embedded images."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r'src="data:[^"]*"', 'src=""', page)


@pytest.mark.tf
@pytest.mark.parametrize("markup", ["<script>", "</script>", "<b>", "<img src=x"])
def test_no_hostile_markup_survives(page, markup):
    assert markup not in _text(page)


@pytest.mark.tf
@pytest.mark.parametrize("field, text", [
    ("sweep name and architecture label", EVIL),
    ("database, spec and dataset path", EVIL_FILE),
])
def test_every_hostile_string_is_shown_as_text(page, field, text):
    assert html.escape(text) in page or html.escape(text, quote=False) in page, field


@pytest.mark.tf
def test_the_title_is_escaped(page):
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1)
    assert "<img src=x" not in title and html.escape("<img src=x", quote=False) in title
