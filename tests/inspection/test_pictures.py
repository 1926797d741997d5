"""Pictures and the report directory: every file written, PNGs non-empty (no TensorFlow)."""

import os
import re

import numpy as np
import pytest

from archscale.inspection.advice import advise_spec
from archscale.inspection.result import Inspection
from archscale.inspection.extract import LayerActivations
from archscale.inspection.pictures import (curves_plot, dense_heatmap, dimension_plot,
                                           feature_map_plot)
from archscale.inspection.regularisation import regularisation_signals
from archscale.inspection.report import write_report
from archscale.inspection.stats import stats_of_array
from archscale.reference_archs.registry import preset
from archscale.reporting.schema import ReportError

PNG = b"\x89PNG\r\n\x1a\n"


def _layer(name, acts, cls):
    return LayerActivations(address=name, name=name, class_name=cls,
                            output_shape=acts.shape[1:], stats=stats_of_array(acts),
                            kept=acts[:16])


@pytest.fixture(scope="module")
def layers():
    rng = np.random.default_rng(0)
    conv = np.maximum(rng.normal(size=(40, 20, 12)), 0)
    conv[..., :2] = 0  # dead channels are skipped in the feature-map grid
    dense = np.maximum(rng.normal(size=(40, 32)), 0)
    dense[:, 5:9] = 0
    image = rng.normal(size=(10, 6, 6, 4))
    return [_layer("conv1", conv, "Conv1D"), _layer("fc1", dense, "Dense"),
            _layer("conv2d", image, "Conv2D")]


def test_each_picture_is_a_non_empty_png(layers):
    plots = [feature_map_plot(layers[0]), dense_heatmap(layers[1]),
             feature_map_plot(layers[2]), dimension_plot(layers, {"fc1": 24}),
             curves_plot({"accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.6]})]
    for plot in plots:
        assert plot.png.startswith(PNG) and len(plot.png) > 2000
        assert plot.svg.startswith("<?xml")
    assert {p.slug for p in plots} == {"maps_conv1", "heatmap_fc1", "maps_conv2d",
                                       "dimensions", "accuracy_curves"}
    assert curves_plot({}) is None
    assert "not dead (2, 3, 4, 5, 6, 7, 8, 9, 10)" in plots[0].caption


def _inspection(layers):
    spec = preset("mnist1d_cnn")
    dims = {"conv1": (25, layers[0].stats.dims[0.99])}
    signals = regularisation_signals(0.99, 0.9, params=5210, samples=4000, spec=spec,
                                     curves={"accuracy": [0.9, 0.99],
                                             "test_accuracy": [0.85, 0.9]})
    return Inspection(source="mnist1d_cnn <b>", kind="preset", dataset="mnist1d_seq",
                      samples=40, seed=0, spec=spec, recipe=None, epochs_run=0, layers=tuple(layers),
                      advice=advise_spec(spec, dims), signals=signals)


def test_report_directory_has_markdown_html_and_pngs(layers, tmp_path):
    out = tmp_path / "report"
    written = write_report(_inspection(layers), str(out))
    names = {os.path.relpath(p, out) for p in written}
    assert {"inspect.md", "inspect.html", "inspect.json", "plots/dimensions.png",
            "plots/maps_conv1.png", "plots/heatmap_fc1.png",
            "plots/accuracy_curves.png"} <= names
    for path in written:
        assert os.path.getsize(path) > 0
    md = (out / "inspect.md").read_text()
    assert "![Width vs effective dimension](plots/dimensions.png)" in md
    assert re.search(r"\| conv1 +\| Conv1D +\| 20x12 ", md)
    assert "filters\\[0\\]" in md and "(25, 25, 25) -&gt; (16, 25, 25)" in md
    page = (out / "inspect.html").read_text()
    assert "mnist1d_cnn &lt;b&gt;" in page and "data:image/svg+xml;base64," in page
    assert "src=\"plots/" not in page  # self-contained


def test_report_refuses_a_foreign_directory(layers, tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ReportError, match="not an archscale report"):
        write_report(_inspection(layers), str(tmp_path))
    assert os.listdir(tmp_path) == ["mine.txt"]
