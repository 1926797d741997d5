"""RegNetY family (Radosavovic et al. 2020): RegNetX plus squeeze-excitation.

The stage widths and depths come from the same quantised linear rule as RegNetX
(``archscale.reference_archs.regnet.regnet_widths`` and ``compatible_widths_groups``); the
Y block is the X block with squeeze-excitation after the grouped 3x3 conv, as in pycls,
torchvision and Keras 2's ``keras.applications.regnet.YBlock``:

- 1x1 conv -> BN -> ReLU -> grouped 3x3 (stride) -> BN -> ReLU -> SE -> 1x1 conv -> BN,
  plus the (projection) shortcut, then ReLU;
- SE: global average pool (1x1 map) -> 1x1 conv (with bias) to ``int(block input width x
  se_ratio)`` -> ReLU -> 1x1 conv (with bias) back -> sigmoid -> multiply (``se_ratio`` 0.25
  of the block's *input* width, pycls' ``w_se = round(w_in * se_r)``; every published width is
  a multiple of 8, so flooring and rounding agree);
- stem 3x3/2 conv (32 filters), BN epsilon 1e-5 / momentum 0.9, no conv biases elsewhere, and
  a global-average-pool + dense head.

Keras 3's ``keras.applications`` has no RegNet (Keras 2.9-2.15 had ``RegNetY002``...), so the
presets are checked against torchvision's ``regnet_y_*`` parameter counts and the paper's
table; layer names follow Keras 2's with the model name ``regnety``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import Graph
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.regnet import RegNetPlan, RegNetSpec, build_stages
from archscale.specs import ArchSpec, check_fraction

MODEL_NAME = "regnety"


@dataclass(frozen=True, kw_only=True)
class RegNetYSpec(RegNetSpec):
    """A RegNetY image classifier: the RegNetX fields plus the squeeze-excitation ratio.

    Attributes:
        se_ratio: SE bottleneck as a fraction of the block's input width (0.25; 0 = none).
    """

    family = "regnety"

    se_ratio: float = 0.25

    def validate(self) -> None:
        super().validate()
        check_fraction("se_ratio", self.se_ratio, high_inclusive=True)


def build_regnety(spec: RegNetYSpec) -> Graph:
    """Graph of a RegNetY: stem -> stages of Y blocks (X blocks with squeeze-excitation after
    the grouped 3x3 conv; first block stride 2) -> gap -> dense.

    Args:
        spec: The ``RegNetYSpec``.

    Returns:
        The ``Graph``.

    Raises:
        Nothing for any positive input size (every conv is ``same``-padded).
    """
    return build_stages(spec, MODEL_NAME, "YBlock", spec.se_ratio)


@dataclass(frozen=True)
class _RegNetYConfig:
    """One published RegNetY design point (pycls model zoo configs)."""

    name: str
    label: str
    depth: int
    w0: int
    wa: float
    wm: float
    group_width: int
    paper_params: float
    macs: float
    top1: float


#: pycls configs (RegNetY-*.yaml), the paper's / model zoo's params and MACs, and ImageNet
#: top-1 = 100 - the pycls MODEL_ZOO top-1 error.
_REGNETY = (
    _RegNetYConfig("regnety_002", "RegNetY-200MF", 13, 24, 36.44, 2.49, 8, 3.16e6, 0.2e9, 70.4),
    _RegNetYConfig("regnety_004", "RegNetY-400MF", 16, 48, 27.89, 2.09, 8, 4.34e6, 0.4e9, 74.1),
    _RegNetYConfig("regnety_008", "RegNetY-800MF", 14, 56, 38.84, 2.4, 16, 6.26e6, 0.8e9, 76.3),
    _RegNetYConfig("regnety_016", "RegNetY-1.6GF", 27, 48, 20.71, 2.65, 24, 11.20e6, 1.6e9,
                   78.0),
)

#: Exact trainable counts: torchvision's ``regnet_y_400mf`` / ``regnet_y_1_6gf`` ``num_params``
#: (200MF and 800MF: the rule's count, within 1 % of the paper; torchvision rounds 800MF's
#: widths half up and has 6,432,512).
_TRAINABLE = {"regnety_004": 4_344_144, "regnety_016": 11_202_430}


class RegNetYPlan(RegNetPlan):
    """RegNetY from a published design point (default 200MF); knobs as RegNetX's."""

    family = variant = "regnety"
    BASE = {"depth": _REGNETY[0].depth, "w0": _REGNETY[0].w0, "wa": _REGNETY[0].wa,
            "wm": _REGNETY[0].wm, "group_width": _REGNETY[0].group_width}

    def __init__(self, task: Any, anchor: Any = None) -> None:
        super().__init__(task, anchor)
        if anchor is None:
            self.anchor = _REGNETY[0].label
            self.steps[0] = type(self.steps[0])(
                "regnety design point", {"design_point": self.anchor, **self.base},
                f"{self.anchor} scaled: depth d, w0 and wa by the width factor; widths made "
                "compatible with the group width; squeeze-excitation 0.25",
                "Radosavovic et al. 2020 (RegNetY design points)")

    def spec(self, knobs: Any, dropout: float = 0.0) -> ArchSpec:
        return RegNetYSpec(input_shape=self.task.input_shape, classes=self.task.classes,
                           depth=knobs[0], w0=knobs[1], wa=knobs[2] / 100, wm=self.base["wm"],
                           group_width=self.base["group_width"],
                           output_activation=self.output_activation)

    def describe(self, knobs: Any) -> str:
        return "RegNetY" + super().describe(knobs)[len("RegNetX"):]


ACCURACY = tuple(
    AccuracyPoint(c.label, "imagenet", c.top1, c.macs, c.paper_params, 224,
                  (("depth", c.depth), ("w0", c.w0), ("wa", c.wa), ("wm", c.wm),
                   ("group_width", c.group_width)),
                  f"Radosavovic et al. 2020 ({c.label}); pycls MODEL_ZOO top-1 error")
    for c in _REGNETY)

FAMILY = Family("regnety", RegNetYSpec, build_regnety,
                "RegNetY: RegNetX widths and X blocks plus squeeze-excitation "
                "(Radosavovic 2020)",
                ranks=(3,), scaling=ScalingFields(width=("w0", "wa"), depth=("depth",)),
                dropout_field=None, plan=RegNetYPlan, recipe_style="momentum",
                accuracy=ACCURACY)

PRESETS = tuple(
    Preset(c.name,
           RegNetYSpec(input_shape=(224, 224, 3), classes=1000, depth=c.depth, w0=c.w0,
                       wa=c.wa, wm=c.wm, group_width=c.group_width),
           f"{c.label} (Radosavovic et al. 2020): d={c.depth}, w0={c.w0}, wa={c.wa}, "
           f"wm={c.wm}, g={c.group_width}, SE 0.25; ImageNet 224x224",
           Published(f"Radosavovic et al. 2020 ({c.label}); pycls model zoo"
                     + ("; torchvision num_params" if c.name in _TRAINABLE else ""),
                     trainable_params=_TRAINABLE.get(c.name), paper_params=c.paper_params,
                     macs=c.macs, rel_tol=0.01))
    for c in _REGNETY)
