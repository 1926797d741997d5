"""Inception-ResNet-v2 (Szegedy et al. 2016) as a layer table, exactly as
``keras.applications.InceptionResNetV2`` builds it.

Its modules are Inception branches whose concatenation a biased 1x1 conv projects back to the
input's width; the result, scaled, is added to the input (``ResidualModule``): 10 x block35
(scale 0.17) at 35x35, 20 x block17 (0.1) at 17x17 and 10 x block8 (0.2; the last 1.0 with no
activation) at 8x8, between the reductions ``mixed_6a`` and ``mixed_7a``. Keras leaves the
conv units unnamed; here each is named after its block and branch
(``block35_1_branch2_3``). Keras' minimum input is 75 px.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscale.reference_archs.inception.tables import (Architecture, Branch, ConvRow, Item,
                                                        Module, PoolRow)


@dataclass(frozen=True)
class ResidualModule:
    """Inception branches concatenated (``<name>_mixed``), projected by a biased 1x1 conv to
    the input's channels (``<name>_conv``), scaled by ``scale`` and added to the input
    (``<name>``, Keras' ``CustomScaleLayer``), then ``activation`` (``<name>_ac``) unless
    ``None``."""

    name: str
    branches: tuple[Branch, ...]
    scale: float
    activation: str | None = "relu"


def _units(p: str, rows: tuple[tuple[int, tuple[int, int]] | tuple[int, tuple[int, int], int,
                                                                    str], ...]) -> Branch:
    """A branch of conv units ``<p>_<i>``: (filters, kernel[, strides, padding]) rows."""
    convs = []
    for i, row in enumerate(rows, start=1):
        filters, kernel = row[0], row[1]
        strides, padding = (row[2], row[3]) if len(row) > 2 else (1, "same")
        convs.append(ConvRow(f"{p}_{i}", filters, kernel, strides, padding))
    return Branch(tuple(convs))


def _block35(i: int) -> ResidualModule:
    p = f"block35_{i}"
    return ResidualModule(p, (
        _units(f"{p}_branch0", ((32, (1, 1)),)),
        _units(f"{p}_branch1", ((32, (1, 1)), (32, (3, 3)))),
        _units(f"{p}_branch2", ((32, (1, 1)), (48, (3, 3)), (64, (3, 3)))),
    ), 0.17)


def _block17(i: int) -> ResidualModule:
    p = f"block17_{i}"
    return ResidualModule(p, (
        _units(f"{p}_branch0", ((192, (1, 1)),)),
        _units(f"{p}_branch1", ((128, (1, 1)), (160, (1, 7)), (192, (7, 1)))),
    ), 0.1)


def _block8(i: int, last: bool = False) -> ResidualModule:
    p = f"block8_{i}"
    return ResidualModule(p, (
        _units(f"{p}_branch0", ((192, (1, 1)),)),
        _units(f"{p}_branch1", ((192, (1, 1)), (224, (1, 3)), (256, (3, 1)))),
    ), 1.0 if last else 0.2, None if last else "relu")


RESNET_V2_STEM: tuple[Item, ...] = (
    ConvRow("stem_conv1", 32, (3, 3), 2, "valid"),
    ConvRow("stem_conv2", 32, (3, 3), 1, "valid"),
    ConvRow("stem_conv3", 64, (3, 3)),
    PoolRow("stem_pool1", "max", 3, 2, "valid"),
    ConvRow("stem_conv4", 80, (1, 1), 1, "valid"),
    ConvRow("stem_conv5", 192, (3, 3), 1, "valid"),
    PoolRow("stem_pool2", "max", 3, 2, "valid"),
)

_MIXED_5B = Module("mixed_5b", (
    _units("mixed_5b_branch0", ((96, (1, 1)),)),
    _units("mixed_5b_branch1", ((48, (1, 1)), (64, (5, 5)))),
    _units("mixed_5b_branch2", ((64, (1, 1)), (96, (3, 3)), (96, (3, 3)))),
    Branch((PoolRow("mixed_5b_pool", "avg"), ConvRow("mixed_5b_branch3_1", 64, (1, 1)))),
))

_MIXED_6A = Module("mixed_6a", (
    _units("mixed_6a_branch0", ((384, (3, 3), 2, "valid"),)),
    _units("mixed_6a_branch1", ((256, (1, 1)), (256, (3, 3)), (384, (3, 3), 2, "valid"))),
    Branch((PoolRow("mixed_6a_pool", "max", 3, 2, "valid"),)),
))

_MIXED_7A = Module("mixed_7a", (
    _units("mixed_7a_branch0", ((256, (1, 1)), (384, (3, 3), 2, "valid"))),
    _units("mixed_7a_branch1", ((256, (1, 1)), (288, (3, 3), 2, "valid"))),
    _units("mixed_7a_branch2", ((256, (1, 1)), (288, (3, 3)), (320, (3, 3), 2, "valid"))),
    Branch((PoolRow("mixed_7a_pool", "max", 3, 2, "valid"),)),
))

RESNET_V2_BODY: tuple[Item | ResidualModule, ...] = (
    _MIXED_5B, *(_block35(i) for i in range(1, 11)),
    _MIXED_6A, *(_block17(i) for i in range(1, 21)),
    _MIXED_7A, *(_block8(i) for i in range(1, 10)), _block8(10, last=True),
    ConvRow("conv_7b", 1536, (1, 1)),
)

RESNET_V2 = Architecture("inception_resnet_v2", RESNET_V2_STEM, RESNET_V2_BODY)
