"""ResNet family: v1, v1.5 and v2 (pre-activation), basic and bottleneck blocks, 1-D and 2-D.

One spec (``ResNetSpec``) and one build function (``build_resnet``) cover every variant; the
presets are rows of data. The layouts follow:

- He et al. 2015, "Deep Residual Learning for Image Recognition" (ResNet-18...152 and the CIFAR
  ResNet-20...110 with the parameter-free option-A shortcut);
- ``keras.applications.ResNet50/101/152`` (v1: stride in the first 1x1 of the bottleneck, a
  bias on every conv) and ``ResNet50V2/101V2/152V2`` (v2, He et al. 2016 "Identity Mappings":
  pre-activation, stride in the *last* block of each stage, ``MaxPooling(1, stride)`` shortcut
  on that block, ``post_bn``/``post_relu`` before the head). Layer names mirror Keras.
- torchvision's ResNet (v1.5: stride in the 3x3 of the bottleneck, no conv bias).

The rank of the network follows ``input_shape``: ``(length, channels)`` gives a 1-D ResNet
(Conv1D, MaxPooling1D...), ``(height, width, channels)`` a 2-D one.
"""

from __future__ import annotations

from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)
from archscale.reference_archs.resnet.model import (BLOCKS, EXPANSION, KERAS_BN_EPSILON,
                                                    SHORTCUTS, STEMS, VERSIONS, BlockPlan,
                                                    ResNetSpec, build_resnet, plan_blocks)
from archscale.reference_archs.resnet.plan import ResNetPlan

__all__ = ["BLOCKS", "EXPANSION", "FAMILY", "KERAS_BN_EPSILON", "PRESETS",
           "SHORTCUTS", "STEMS", "VERSIONS", "BlockPlan", "ResNetPlan", "ResNetSpec",
           "build_resnet", "plan_blocks"]

_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

#: Published accuracy points. ImageNet: torchvision's v1.5 ResNets (the layout the plan
#: proposes: IMAGENET1K_V1 top-1 and GFLOPS = multiply-adds). CIFAR-10: He et al. 2015 Table 6
#: (test error, params); multiply-adds of the 6n+2 nets as commonly reported (ResNet-56 126 M,
#: ResNet-110 253 M).
_IMAGENET_TOP1 = ((50, 76.13, 4.09e9, 25.6e6), (101, 77.37, 7.80e9, 44.5e6),
                  (152, 78.31, 11.51e9, 60.2e6))
_CIFAR_TOP1 = ((20, 91.25, 41e6, 0.27e6), (32, 92.49, 69e6, 0.46e6), (44, 92.83, 98e6, 0.66e6),
               (56, 93.03, 126e6, 0.85e6), (110, 93.57, 253e6, 1.7e6))

ACCURACY = tuple(
    AccuracyPoint(f"ResNet-{depth}", "imagenet", top1, macs, params, 224,
                  (("variant", "resnet-imagenet"), ("blocks", _BLOCKS[depth]),
                   ("widths", (64, 128, 256, 512)), ("stem", 64)),
                  f"torchvision resnet{depth} (IMAGENET1K_V1); He et al. 2015 Table 1")
    for depth, top1, macs, params in _IMAGENET_TOP1
) + tuple(
    AccuracyPoint(f"CIFAR ResNet-{depth}", "cifar10", top1, macs, params, 32,
                  (("variant", "resnet-cifar"), ("blocks", ((depth - 2) // 6,) * 3),
                   ("widths", (16, 32, 64)), ("stem", 16)),
                  "He et al. 2015 Sec. 4.2 and Table 6")
    for depth, top1, macs, params in _CIFAR_TOP1)

FAMILY = Family("resnet", ResNetSpec, build_resnet,
                "ResNet v1 / v1.5 / v2, basic or bottleneck blocks, 1-D or 2-D",
                ranks=(2, 3),
                scaling=ScalingFields(width=("stem_width", "stage_widths"),
                                      depth=("stage_blocks",)),
                dropout_field=None, plan=ResNetPlan, recipe_style="momentum",
                accuracy=ACCURACY)

# ---------------------------------------------------------------------------------------------
# Presets (data)
# ---------------------------------------------------------------------------------------------

#: ImageNet ResNets: depth -> (block, stage_blocks) (He et al. 2015, Table 1).
IMAGENET_DEPTHS: dict[int, tuple[str, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

#: The paper's multiply-adds of the ImageNet ResNets (He et al. 2015, Table 1 "FLOPs").
PAPER_MACS: dict[int, float] = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}

#: ``keras.applications.ResNet*(weights=None).count_params()`` at 224x224x3, 1000 classes (the
#: deeper V2 models as Keras 3.15 reports them).
KERAS_PARAMS: dict[str, int] = {
    "resnet50": 25_636_712, "resnet101": 44_707_176, "resnet152": 60_419_944,
    "resnet50v2": 25_613_800, "resnet101v2": 44_675_560, "resnet152v2": 60_380_648,
}

#: CIFAR ResNets 6n+2 (He et al. 2015, Section 4.2) with their published parameter counts (the
#: paper's Table 6, two significant digits) and the exact trainable count of the option-A net.
CIFAR_DEPTHS: dict[int, tuple[str, int]] = {
    20: ("0.27M", 269_722), 32: ("0.46M", 464_154), 44: ("0.66M", 658_586),
    56: ("0.85M", 853_018), 110: ("1.7M", 1_727_962),
}


def _imagenet_preset(depth: int, version: str) -> Preset:
    """ResNet-``depth`` v1 or v2 at 224x224x3, 1000 classes, Keras Applications layout."""
    block, stage_blocks = IMAGENET_DEPTHS[depth]
    spec = ResNetSpec(input_shape=(224, 224, 3), classes=1000, block=block,
                      stage_blocks=stage_blocks, version=version)
    if version == "v2":
        name = f"resnet{depth}v2"
        return Preset(name, spec,
                      f"ResNet-{depth} v2, pre-activation (He et al. 2016), "
                      f"layout of keras.applications.ResNet{depth}V2",
                      Published(f"keras.applications.ResNet{depth}V2 count_params()",
                                params=KERAS_PARAMS[name]))
    source = (f"layout of keras.applications.ResNet{depth}" if block == "bottleneck"
              else "Keras-style layout (conv bias, stride in the first 1x1/3x3)")
    name = f"resnet{depth}"
    keras = f"; keras.applications.ResNet{depth} count_params()" if name in KERAS_PARAMS else ""
    return Preset(name, spec, f"ResNet-{depth} v1 (He et al. 2015), {source}",
                  Published(f"He et al. 2015 Table 1{keras}", params=KERAS_PARAMS.get(name),
                            macs=PAPER_MACS[depth]))


def _cifar_preset(depth: int) -> Preset:
    """CIFAR ResNet-``depth`` = 6n+2: basic blocks, widths 16/32/64, option-A shortcuts."""
    n = (depth - 2) // 6
    paper, exact = CIFAR_DEPTHS[depth]
    spec = ResNetSpec(input_shape=(32, 32, 3), classes=10, block="basic",
                      stage_blocks=(n, n, n), stage_widths=(16, 32, 64), stem="cifar",
                      stem_width=16, version="v1", conv_bias=False, shortcut="zero_pad")
    return Preset(f"resnet{depth}", spec,
                  f"CIFAR ResNet-{depth} (He et al. 2015, 6n+2 with n={n}, option-A "
                  f"shortcuts; paper: {paper} params)",
                  Published("He et al. 2015 Table 6 (rounded); exact count of the option-A "
                            "network", trainable_params=exact,
                            paper_params=float(paper.removesuffix("M")) * 1e6))


PRESETS = (
    tuple(_imagenet_preset(d, "v1") for d in IMAGENET_DEPTHS)
    + tuple(_imagenet_preset(d, "v2") for d in (50, 101, 152))
    + tuple(_cifar_preset(d) for d in CIFAR_DEPTHS)
)
