"""The catalogue report's headline from the optimal-dimensions study's results.json."""

from __future__ import annotations

import json

import pytest

from archscale.reporting.schema import ReportError
from archscale.reporting import writers as w
from archscale.reporting.study_headline import gap_cells, load_study, study_blocks

SCORE = {"proposal_params": 16378, "proposal_accuracy": 0.612, "proposal_std": 0.011,
         "best_accuracy": 0.64, "best_std": 0.008, "gap_points": 2.8, "gap_allowed_points": 1.0,
         "knee_label": "mnist1d-4k w2 d+0", "macs_ratio_to_knee": 0.31, "meets_accuracy": False,
         "meets_macs": True}


def write(tmp_path, data):
    path = tmp_path / "dimensions" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    return str(path)


def test_headline_table_and_relative_link(tmp_path):
    path = write(tmp_path, {"tasks": [{"name": "mnist1d-4k"}, {"name": "digits"}],
                            "proposals": {"mnist1d-4k": SCORE, "digits": None}})
    heading, text, table = study_blocks(path, str(tmp_path / "catalogue"))
    assert isinstance(heading, w.Heading) and heading.text == "Headline: optimal dimensions"
    assert "../dimensions/report.md" in text.text
    rows = table.table.rows
    assert rows[0] == ("mnist1d-4k", "16.4K", "61.2 ± 1.1", "64.0 ± 0.8", "+2.8", "w2 d+0",
                       "0.31x", "MACs only")
    assert rows[1][0] == "digits" and rows[1][-1] == "not measured"


def test_bad_headline_files(tmp_path):
    with pytest.raises(ReportError, match="--headline-from cannot be read"):
        load_study(str(tmp_path / "missing.json"))
    bad = tmp_path / "x.json"
    bad.write_text("{")
    with pytest.raises(ReportError, match="--headline-from is not JSON"):
        load_study(str(bad))
    bad.write_text("[1]")
    with pytest.raises(ReportError, match="must be the results.json"):
        load_study(str(bad))


def test_a_partial_grid_is_provisional_in_the_headline(tmp_path):
    path = write(tmp_path, {"tasks": [{"name": "a"}, {"name": "b"}],
                            "proposals": {"a": SCORE, "b": SCORE},
                            "missing": {"b": ["b w4 d+0 (0 of 3 seeds)"]}})
    rows = study_blocks(path, None)[2].table.rows
    assert rows[0][-1] == "MACs only"
    assert rows[1][-1] == "MACs only (provisional: 1 grid point not measured)"


def test_a_gap_just_over_the_allowance_is_printed_to_two_decimals():
    # the medium textures: 1.033 points against 1.0 allowed fails the target
    assert gap_cells(1.0333, 1.0) == ("+1.03", "1.00")
    assert gap_cells(0.9667, 1.0) == ("+0.97", "1.00")
    assert gap_cells(1.0, 1.0) == ("+1.0", "1.0")
    assert gap_cells(3.8, 1.1015) == ("+3.8", "1.1")
    assert gap_cells(0.2339, 1.0) == ("+0.2", "1.0")
    assert gap_cells(-0.04, 0.5) == ("-0.0", "0.5")
