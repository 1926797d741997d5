"""The README's rules table and family table, generated from the rules' own constants.

``tools/update_readme.py`` writes ``rules_markdown()`` between the ``propose-rules`` markers;
``tests/test_readme.py`` fails when the README is stale, so the documented numbers are the
ones the code uses.
"""

from __future__ import annotations

from archscale.heuristics.advice import MIN_CONV_SIDE, NAMED_WITHIN, RAW_SIGNAL_MIN_LENGTH
from archscale.heuristics.capacity import (CIFAR_DECAY, DECAY_ANCHORS, DROPOUT_ANCHORS,
                                           MIN_BODY_PARAMS, PARAMS_PER_SAMPLE, RMSPROP_DECAY,
                                           SIGNAL_EXPONENT, SIGNAL_MAX_PER_SAMPLE,
                                           SIGNAL_SCALE, capacity_range)
from archscale.heuristics.difficulty import NEIGHBOURS, headroom_rule
from archscale.heuristics.family_table import family_table_rows
from archscale.heuristics.rules import PLAIN_CNN_MAX_LENGTH, SMALL_IMAGE_MAX_SIDE
from archscale.reference_archs.layout_rules import EMBEDDING_MAX_DIM, embedding_dim_for
from archscale.reference_archs.scaling_plan import MAX_WIDTH_FACTOR as RESNET_MAX_WIDTH


def rule_rows() -> list[tuple[str, str, str]]:
    """``(step, rule, source)`` rows, numbers read from the code."""
    (d0, v0), (d1, v1) = DROPOUT_ANCHORS
    (w0, y0), (w1, y1) = DECAY_ANCHORS
    ratios = ", ".join(f"{k} {v:g}" for k, v in PARAMS_PER_SAMPLE.items())
    return [
        ("modality", "rank of `--input`: 1 vector, 2 sequence, 3 image; `--modality tokens "
                     "--vocab N` for integer token IDs", "-"),
        ("capacity", "advisory body params (classifier head and embedding table apart): vector "
                     f"and sequence {SIGNAL_SCALE:g} x class pairs x samples^{SIGNAL_EXPONENT:g} "
                     f"(at most {SIGNAL_MAX_PER_SAMPLE:g} per sample; 10 classes, 4,000 samples "
                     f"-> {capacity_range(4000, 'vector', 10)[1]:,}), per sample {ratios}; "
                     f"at least {MIN_BODY_PARAMS:,.0f}; a "
                     "ceiling only without a user budget (then it is what binds, and says so); "
                     "`--params-per-sample N`, `--capacity off`",
         "the optimal-dimensions study's knees (MNIST-1D, wine, breast cancer); Zhang et al. "
         "2017; Nakkiran et al. 2019; ResNet-50 18, ResNet-110 34, WRN-28-10 730 "
         "params/sample"),
        ("headroom", "with `--probe DATASET` (or `--headroom H`; `archscale tune` probes its "
                     "dataset): headroom = 1 - the better hold-out accuracy, scaled from the "
                     "majority-class rate (0) to perfect (1), of a ridge linear classifier and "
                     f"a {NEIGHBOURS}-nearest-neighbour vote on the training data; the capacity "
                     f"default x {headroom_rule('vector').label().replace('h /', 'headroom /')} "
                     "for vector and sequence inputs (headroom 0.5 -> "
                     f"x{capacity_range(4000, 'vector', 10, headroom=0.5)[1] / capacity_range(4000, 'vector', 10)[1]:.2f}), "
                     f"x {headroom_rule('image').label().replace('h /', 'headroom /')} for "
                     "images (headroom 0.3 -> "
                     f"x{capacity_range(2000, 'image', 10, headroom=0.3)[1] / capacity_range(2000, 'image', 10)[1]:.2f}); "
                     "not for token inputs or `--params-per-sample`",
         "the optimal-dimensions study's rule screen over its ten grids, each rule over its own: "
         "six vector and sequence grids (tabular sets, MNIST-1D), four image grids (digits, "
         "synthetic textures)"),
        ("family", "tokens -> Embedding front end, then a 1-D CNN with max-over-time pooling "
                   f"(any length); vector -> MLP; sequence <= {PLAIN_CNN_MAX_LENGTH} steps -> 1-D CNN, longer "
                   f"-> 1-D ResNet (never an MLP); image <= {SMALL_IMAGE_MAX_SIDE} px -> "
                   "CIFAR-style ResNet; larger -> the family of the most accurate published "
                   "ImageNet point (table below) within the MAC budget (else params) at up to "
                   f"`--max-resolution`; inputs under {MIN_CONV_SIDE} px/steps -> MLP",
         "Kim 2014; Le et al. 2018; He et al. 2015; the family table's sources"),
        ("embedding", f"dim = vocab^0.25 rounded up to a multiple of 8, at most "
                      f"{EMBEDDING_MAX_DIM} (vocab 20,000 -> {embedding_dim_for(20_000)}); "
                      "vocab x dim params, 0 MACs",
         "Google 2017 (TF feature columns); Lakshmanan et al. 2020; word2vec, fastText"),
        ("published point", f"a published configuration using >= {NAMED_WITHIN:.0%} of the "
                            "binding budget is proposed as published and named; without a "
                            "budget, the table's choice is", "the family table"),
        ("raw audio", f"a 1-2 channel sequence of >= {RAW_SIGNAL_MIN_LENGTH} steps warns and "
                      "suggests a log-mel / MFCC front end", "Hershey et al. 2017; Warden 2018; "
                      "Sainath et al. 2015"),
        ("MLP", "depth 1-4 by the parameter target (2 hidden layers from 5 K, 3 from 100 K, "
                "4 from 20 M); geometric taper from inputs to classes; "
                "every hidden width >= 2 sqrt(classes) (10,000 classes -> 200)",
         "Heaton 2008; Masters 1993; Yang et al. 2018; Sun et al. 2014; the study (3 layers)"),
        ("stages / widths / blocks", "stride-2 stages to a 4-8 map; widths double per stage "
                                     "(a fill that breaks it says so); bottleneck 3-4-6-3, "
                                     "basic 3 per stage, plain 2 convs (the 1-D CNN keeps "
                                     "its depth and scales its widths)",
         "Simonyan & Zisserman 2014; He et al. 2015; Radosavovic et al. 2020"),
        ("scaling", "depth 1.2^phi, width 1.1^phi, resolution 1.15^phi; resolution from 96 px "
                    "up to `--max-resolution` (default: the input's side); phi bisected; the "
                    "CIFAR-style ResNet grows width first (its base depth until the widths "
                    f"reach {RESNET_MAX_WIDTH:g}x, then blocks)",
         "Tan & Le 2019; Zagoruyko & Komodakis 2016; the study (16x16 textures)"),
        ("dropout", f"log-linear in params/sample through ({d0:.2f}, {v0:g}) and "
                    f"({d1:.1f}, {v1:g}), in [0, 0.5], step 0.05", "Tan & Le 2019 (B0, B7)"),
        ("weight decay", f"SGD: power law through ({w0:.1f}, {y0:g}) and ({w1:.0f}, {y1:g}), "
                         f"L2; CIFAR-style ResNet {CIFAR_DECAY:g}; RMSprop {RMSPROP_DECAY:g}; "
                         "Adam: the SGD value, decoupled (AdamW)",
         "He et al. 2015; Zagoruyko & Komodakis 2016; Tan & Le 2019; Loshchilov & Hutter 2019"),
        ("recipe", "SGD Nesterov 0.9, lr 0.1 x batch/256 (CIFAR-style 0.1 x batch/128); "
                   "RMSprop 0.016 x batch/256; Adam 1e-3; cosine to the end, no early stopping "
                   "(best validation epoch kept: by accuracy, by loss under 100 held-out "
                   "examples); augmentation advice for images, transfer "
                   "advice under 20,000 natural images",
         "Goyal et al. 2017; He et al. 2015 Sec. 4.2; Loshchilov & Hutter 2017; Kornblith et "
         "al. 2019"),
    ]


def rules_markdown() -> str:
    """The rules table, then the family table (GitHub markdown)."""
    lines = ["| step | rule | source |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rule_rows()]
    lines += ["", "Published ImageNet points the family choice ranks (from each family's "
              "metadata, `Family.accuracy`):", "",
              "| family | configuration | top-1 % | MACs | params | px | source |",
              "|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in family_table_rows()]
    return "\n".join(lines)
