"""``READERS``: each Keras layer class archscale translates, the graph op it becomes and the
function that reads its serialised config into a ``GraphBuilder`` call; ``OPERATION_READERS``
(``archscale.keras_io.op_readers``) does the same for Keras operations on symbolic tensors.

Readers see only a layer's config (``get_config()`` of a live layer, or its entry in a
``.keras`` file's ``config.json``), so this module imports no Keras. A reader raises
``Untranslatable`` for settings the op cannot express (channels-first, ...); the layer is then
recorded as unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archscale.keras_io import layer_readers as lr
from archscale.keras_io import sequence_readers as sr
from archscale.keras_io.config_values import Untranslatable
from archscale.keras_io.op_readers import OPERATION_READERS

__all__ = ["OPERATION_READERS", "READERS", "LayerReader", "Untranslatable", "WEIGHTLESS"]


@dataclass(frozen=True)
class LayerReader:
    """How one Keras layer class becomes a graph node.

    Attributes:
        op: The graph op the reader produces (a name in ``archscale.ops.OPS``).
        read: ``(builder, layer config, input node names, node name, input rank with batch,
            call) -> node name``; raises ``Untranslatable`` (or ``ShapeError``) for settings
            it cannot express.
    """

    op: str
    read: Callable[..., str]


def _by_rank(op: str, read: Callable[..., str], stem: str, ranks: str = "123") -> dict:
    return {f"{stem}{r}D": LayerReader(op, read) for r in ranks}


_RANDOM_LAYERS = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast",
                  "RandomTranslation", "RandomBrightness", "RandomGrayscale", "RandomHue",
                  "RandomSaturation", "RandomSharpness", "RandomShear", "RandomColorJitter",
                  "RandomErasing", "RandomGaussianBlur", "RandomInvert", "RandomPerspective",
                  "RandomPosterization", "RandomElasticTransform", "RandomColorDegeneration",
                  "AutoContrast", "Solarization", "RandAugment", "AugMix", "CutMix", "MixUp")

#: Keras layer class name -> its reader and the op it produces.
READERS: dict[str, LayerReader] = {
    **_by_rank("conv", lr.read_conv, "Conv"),
    **_by_rank("depthwise_conv", lr.read_depthwise, "DepthwiseConv", "12"),
    **_by_rank("separable_conv", lr.read_separable, "SeparableConv", "12"),
    **{f"Conv{r}DTranspose": LayerReader("conv_transpose", lr.read_conv_transpose)
       for r in "123"},
    "Dense": LayerReader("dense", lr.read_dense),
    "EinsumDense": LayerReader("einsum_dense", sr.read_einsum_dense),
    "Embedding": LayerReader("embedding", sr.read_embedding),
    "MultiHeadAttention": LayerReader("multi_head_attention", sr.read_mha),
    "Attention": LayerReader("attention", sr.read_attention(additive=False)),
    "AdditiveAttention": LayerReader("attention", sr.read_attention(additive=True)),
    "LSTM": LayerReader("rnn", sr.read_rnn("LSTM")),
    "GRU": LayerReader("rnn", sr.read_rnn("GRU")),
    "SimpleRNN": LayerReader("rnn", sr.read_rnn("SimpleRNN")),
    "Bidirectional": LayerReader("rnn", sr.read_bidirectional),
    "TimeDistributed": LayerReader("dense", sr.read_time_distributed),
    "BatchNormalization": LayerReader("batch_norm", lr.read_batch_norm),
    "LayerNormalization": LayerReader("layer_norm", lr.read_layer_norm),
    "GroupNormalization": LayerReader("group_norm", lr.read_group_norm),
    "UnitNormalization": LayerReader("unit_norm", lr.read_unit_norm),
    "Activation": LayerReader("activation", lr.read_activation),
    "ReLU": LayerReader("activation", lr.read_relu),
    "LeakyReLU": LayerReader("activation", lr.read_named_activation("leaky_relu")),
    "ELU": LayerReader("activation", lr.read_named_activation("elu")),
    "Softmax": LayerReader("activation", lr.read_softmax),
    "PReLU": LayerReader("prelu", lr.read_prelu),
    "LayerScale": LayerReader("scale", lr.read_layer_scale),
    "CustomScaleLayer": LayerReader("elementwise", lr.read_custom_scale),
    **_by_rank("max_pool", lr.read_pool("max_pool"), "MaxPooling"),
    **_by_rank("avg_pool", lr.read_pool("avg_pool"), "AveragePooling"),
    **_by_rank("global_avg_pool", lr.read_global_pool("global_avg_pool"),
               "GlobalAveragePooling"),
    **_by_rank("global_max_pool", lr.read_global_pool("global_max_pool"), "GlobalMaxPooling"),
    **_by_rank("zero_pad", lr.read_zero_pad, "ZeroPadding"),
    **_by_rank("slice", lr.read_cropping, "Cropping"),
    **_by_rank("upsample", lr.read_upsample, "UpSampling"),
    "ChannelPad": LayerReader("channel_pad", lr.read_channel_pad),
    "Flatten": LayerReader("flatten", lr.read_flatten),
    "Reshape": LayerReader("reshape", lr.read_reshape),
    "Permute": LayerReader("transpose", lr.read_permute),
    "RepeatVector": LayerReader("repeat", lr.read_repeat),
    "Identity": LayerReader("identity", lr.read_identity),
    "GaussianNoise": LayerReader("identity", lr.read_identity),
    "ActivityRegularization": LayerReader("identity", lr.read_identity),
    **{name: LayerReader("identity", lr.read_identity) for name in _RANDOM_LAYERS},
    "Dropout": LayerReader("dropout", lr.read_dropout),
    "GaussianDropout": LayerReader("dropout", lr.read_dropout),
    "AlphaDropout": LayerReader("dropout", lr.read_dropout),
    **_by_rank("dropout", lr.read_dropout, "SpatialDropout"),
    "Add": LayerReader("add", lr.read_merge("add")),
    "Multiply": LayerReader("multiply", lr.read_merge("multiply")),
    "Subtract": LayerReader("elementwise", lr.read_merge("subtract")),
    "Average": LayerReader("elementwise", lr.read_merge("average")),
    "Maximum": LayerReader("elementwise", lr.read_merge("maximum")),
    "Minimum": LayerReader("elementwise", lr.read_merge("minimum")),
    "Masking": LayerReader("elementwise", lr.read_masking),
    "Concatenate": LayerReader("concat", lr.read_concat),
    "Rescaling": LayerReader("rescaling", lr.read_rescaling),
    "Normalization": LayerReader("normalization", lr.read_normalization),
    # transformer front ends (issue 17, fam17b)
    "ClassToken": LayerReader("class_token", lr.read_class_token),
    "PositionEmbedding": LayerReader("position_embedding", lr.read_position_embedding),
}

#: Layer classes that never hold weights (their params are 0 even when untranslated).
WEIGHTLESS = frozenset({"Lambda"})
