"""Inception family: GoogLeNet (Inception v1) and Inception v3, as layer tables.

Both versions are one stem, a body of Inception modules (parallel branches concatenated on the
channel axis) with reduction pools between them, and a head (global average pooling, optional
dropout, dense classifier). Everything that differs between the versions is data:

- ``GOOGLENET_BLOCKS``: Szegedy et al. 2014 ("Going deeper with convolutions"), Table 1, one
  ``V1Block`` row per module (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) with the
  3x3/2 max-pool positions (after 3b and 4e).
- ``V3_BODY``: Szegedy et al. 2015 ("Rethinking the Inception Architecture"), exactly as
  ``keras.applications.InceptionV3`` builds it (modules ``mixed0`` .. ``mixed10``).

``build_inception`` walks the selected table; it is the family's only build function.

Field semantics (for the README):

- ``version``: ``"v1"`` (GoogLeNet table), ``"v3"`` (Keras InceptionV3 table) or
  ``"resnet_v2"`` (Keras InceptionResNetV2 table, ``inception/resnet_v2.py``: residual
  Inception modules scaled by 0.17 / 0.1 / 0.2 before the addition).
- ``width_multiplier``: every conv's filters become ``max(1, round_half_up(filters * m))``;
  the classifier is not scaled. 1.0 reproduces the tables exactly.
- ``batch_norm``: ``True`` makes each conv ``Conv2D(use_bias=False)`` + ``BatchNormalization(
  scale=False)`` + ReLU (Keras' ``conv2d_bn``); ``False`` makes it ``Conv2D(use_bias=True,
  activation="relu")`` as in the 2014 paper.
- ``dropout``: rate before the classifier (0 = no dropout layer).
- The head is global average pooling; at 224x224 GoogLeNet's 7x7/1 average pool is exactly
  that, and global pooling keeps other input sizes valid. GoogLeNet's LocalResponseNorm layers
  (parameter-free) and its two auxiliary classifiers (training-only) are omitted.
"""

from __future__ import annotations

from archscale.reference_archs.inception.model import (VERSIONS, InceptionSpec,
                                                       build_inception, scale_filters)
from archscale.reference_archs.inception.plan import InceptionPlan
from archscale.reference_archs.inception.tables import (ARCHITECTURES, GOOGLENET_BLOCKS,
                                                        GOOGLENET_STEM, V3_BODY, V3_STEM,
                                                        Architecture, Branch, ConvRow, Module,
                                                        PoolRow, V1Block, v1_body, v1_module)
from archscale.reference_archs.registry import (AccuracyPoint, Family, Preset, Published,
                                                ScalingFields)

__all__ = ["ARCHITECTURES", "FAMILY", "GOOGLENET_BLOCKS", "GOOGLENET_STEM", "PRESETS",
           "V3_BODY", "V3_STEM", "VERSIONS", "Architecture", "Branch", "ConvRow",
           "InceptionPlan", "InceptionSpec", "Module", "PoolRow", "V1Block", "build_inception",
           "scale_filters", "v1_body", "v1_module"]

#: Published ImageNet points: Inception v3 (keras.applications table: 77.9 % top-1; 5.72 G
#: multiply-adds, Szegedy et al. 2015) and GoogLeNet (torchvision googlenet 69.8 %; 1.5 G,
#: Szegedy et al. 2014).
ACCURACY = (
    AccuracyPoint("Inception v3", "imagenet", 77.9, 5.72e9, 23.9e6, 299,
                  (("version", "v3"), ("width", 1.0)),
                  "Szegedy et al. 2015; keras.applications.InceptionV3 (77.9 % top-1)"),
    AccuracyPoint("GoogLeNet", "imagenet", 69.8, 1.5e9, 6.8e6, 224,
                  (("version", "v1"), ("width", 1.0)),
                  "Szegedy et al. 2014 Table 1; torchvision googlenet (69.8 % top-1)"),
)

FAMILY = Family("inception", InceptionSpec, build_inception,
                "Inception v1 (GoogLeNet), v3 and Inception-ResNet-v2: multi-branch modules from "
                "layer tables",
                ranks=(3,), scaling=ScalingFields(width=("width_multiplier",)),
                dropout_field="dropout", plan=InceptionPlan, recipe_style="momentum",
                accuracy=ACCURACY)

PRESETS = (
    Preset("googlenet",
           InceptionSpec(input_shape=(224, 224, 3), classes=1000, version="v1",
                         batch_norm=False, dropout=0.4),
           "GoogLeNet (Szegedy et al. 2014, Table 1): no BN, no aux classifiers, dropout 0.4",
           # The paper's ~1.5 G multiply-adds under-count its conv1 row (34 M where 7x7x3x64
           # at 112x112 is 118 M), hence the wider tolerance.
           Published("Szegedy et al. 2014, Table 1 (about 6.8 M params, 1.5 G multiply-adds)",
                     paper_params=6.8e6, macs=1.5e9, rel_tol=0.06)),
    Preset("inception_v3",
           InceptionSpec(input_shape=(299, 299, 3), classes=1000, version="v3"),
           "Inception v3 (Szegedy et al. 2015) exactly as keras.applications.InceptionV3",
           Published("keras.applications.InceptionV3 count_params(); Szegedy et al. 2015 "
                     "(5.72 G multiply-adds)", params=23_851_784, macs=5.72e9)),
    # fam17b
    Preset("inception_resnet_v2",
           InceptionSpec(input_shape=(299, 299, 3), classes=1000, version="resnet_v2"),
           "Inception-ResNet-v2 (Szegedy et al. 2016) exactly as "
           "keras.applications.InceptionResNetV2",
           Published("keras.applications.InceptionResNetV2 count_params(); Bianco et al. 2018 "
                     "(13.2 G multiply-adds at 299 px)", params=55_873_736, macs=13.2e9)),
)
