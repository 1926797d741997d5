"""An ``npz:`` dataset with wrong labels or shapes is bad input to ``archscale bench``: exit 2,
one line naming the file, before any job runs and with no store written."""

from __future__ import annotations

import numpy as np
import pytest

from archscale.cli import main


def sweep_on(tmp_path, arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    (tmp_path / "s.toml").write_text(
        '[[arch]]\npreset = "mnist1d_mlp"\nmeasure = ["accuracy"]\n'
        'datasets = ["npz:d.npz"]\nseeds = [0]\n')
    return str(tmp_path / "s.toml")


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.zeros((4, 40)), "y_train": np.array([0, 1, 2, -3]),
      "x_test": np.zeros((2, 40)), "y_test": np.array([0, 1])}, "labels outside"),
    ({"x_train": np.zeros((4, 40)), "y_train": np.array([0, 1, 0]),
      "x_test": np.zeros((2, 40)), "y_test": np.array([0, 1])}, "different lengths"),
    ({"x_train": np.zeros((4, 40)), "y_train": np.array([0, 1, 0, 1])}, "lacks array 'x_test'"),
])
def test_bad_dataset_file_exits_2_before_any_job(tmp_path, capsys, arrays, message):
    sweep = sweep_on(tmp_path, arrays)
    db = tmp_path / "r.db"
    assert main(["bench", sweep, "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "d.npz" in err[0]
    assert not db.exists()
