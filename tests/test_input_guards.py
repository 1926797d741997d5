"""Python-API guards: a non-string family and a deeply nested proposal file are archscale's
own one-line errors, not TypeError / RecursionError."""

from __future__ import annotations

import pytest

from archscale.errors import InputFileError, SpecError
from archscale.heuristics.saved_proposal import load_proposal
from archscale.reference_archs.registry import spec_from_dict


def test_non_string_family_is_a_spec_error():
    with pytest.raises(SpecError, match=r"unknown family \[\]; accepted: mlp, "):
        spec_from_dict({"family": []})


def test_deeply_nested_proposal_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputFileError, match="nests too deeply"):
        load_proposal(str(path))
    nested = tmp_path / "nested.json"
    nested.write_text('{"spec": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}")
    with pytest.raises((InputFileError, SpecError)):
        load_proposal(str(nested))
