"""Token-ID inputs (``--modality tokens --vocab N``): an Embedding front end then a 1-D CNN,
never an MLP or a 1-D ResNet over raw IDs; the table counted in params (0 MACs); bad input
exits 2 with one line."""

from __future__ import annotations

import pytest

from archscale import Budget, Task
from archscale.cli import main
from archscale.errors import SpecError
from archscale.heuristics.design_note import design_note
from archscale.heuristics.propose import propose
from archscale.specs import MODALITIES

IMDB = dict(input_shape=(200,), classes=2, samples=25_000, modality="tokens", vocab=20_000)


def _rule(p, name):
    return next(s for s in p.rationale if s.rule == name)


def test_golden_imdb_like_task_gets_an_embedding_then_a_1d_cnn():
    p = propose(Task(**IMDB))
    assert p.family == "cnn1d" and p.spec.vocab == 20_000 and p.spec.input_shape == (200,)
    assert p.spec.embedding_dim == 16  # 20,000 ** 0.25 = 11.9, rounded up to a multiple of 8
    assert p.spec.pooling == "global_max"
    front = _rule(p, "embedding front end")
    assert front.result["params"] == 20_000 * 16 and front.result["macs"] == 0
    assert "vocab ** 0.25" in front.source
    # the table is in the predicted params, the lookup adds no MACs
    assert p.predicted["params"] > 20_000 * 16
    from archscale import profile

    prof = profile(p.spec)
    (emb,) = [r for r in prof.layers if r.op == "embedding"]
    assert (emb.params, emb.macs) == (320_000, 0) and prof.params == p.predicted["params"]
    # the capacity default counts the body: the table (like the head) comes on top
    head = [r for r in prof.layers if r.op == "dense"][-1].params
    assert p.utilisation["capacity"]["value"] == prof.params - head - 320_000
    note = design_note(p)
    assert "embedding 20,000x16, then 1-D CNN" in note and "vocab 20,000" in note


@pytest.mark.parametrize("length", [20, 2000])
def test_tokens_never_get_an_mlp_or_a_resnet_over_raw_ids(length):
    p = propose(Task(**{**IMDB, "input_shape": (length,)}))
    assert p.family == "cnn1d" and p.spec.vocab == 20_000
    assert set(dict(_rule(p, "family").result["alternatives"])) == {"mlp", "resnet"}


def test_a_user_budget_decides_and_counts_the_table():
    p = propose(Task(**IMDB), Budget(max_params=1_000_000))
    assert p.binding == "max_params" and p.utilisation["max_params"]["fraction"] >= 0.9
    assert p.predicted["params"] <= 1_000_000


def test_modality_list_and_task_validation():
    assert "tokens" in MODALITIES
    with pytest.raises(SpecError, match=r"needs vocab .* Received: vocab=None"):
        Task(**{**IMDB, "vocab": None})
    with pytest.raises(SpecError, match=r"only to modality 'tokens'. Received: vocab=100, "
                                        r"modality='vector'"):
        Task(input_shape=(200,), classes=2, samples=10, vocab=100)
    with pytest.raises(SpecError, match=r"rank 1. Received: input_shape=\(200, 1\)"):
        Task(**{**IMDB, "input_shape": (200, 1)})
    with pytest.raises(SpecError, match=r"Received: vocab=2.5"):
        Task(**{**IMDB, "vocab": 2.5})
    with pytest.raises(SpecError, match=r"only families 'cnn1d' or 'transformer' have. "
                                        r"Received: .*family='mlp'"):
        propose(Task(**IMDB, family="mlp"))


CLI = ["propose", "--input", "200", "--classes", "2", "--samples", "25000"]


def test_cli_proposes_for_tokens(capsys):
    assert main(CLI + ["--modality", "tokens", "--vocab", "20000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Proposal: embedding 20,000x16, then 1-D CNN")


@pytest.mark.parametrize("extra, fragment", [
    (["--vocab", "20000"], "vocab applies only to modality 'tokens'"),
    (["--modality", "tokens"], "modality 'tokens' needs vocab"),
    (["--modality", "tokens", "--vocab", "0"], "--vocab"),
    (["--modality", "tokens", "--vocab", "100", "--family", "resnet"], "Embedding front end"),
])
def test_cli_bad_token_input_exits_2_with_one_line(extra, fragment, capsys):
    assert main(CLI + extra) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
