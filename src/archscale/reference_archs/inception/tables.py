"""Inception layer tables: GoogLeNet (Szegedy et al. 2014, Table 1) and Inception v3 (Keras).

Rows are data (``ConvRow``, ``PoolRow``, ``Module`` of ``Branch`` chains); ``ARCHITECTURES``
maps a version to its stem and body, which ``build_inception`` walks. See the package
docstring (``archscale.reference_archs.inception``).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Table rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvRow:
    """One conv unit (conv [+ BN] + ReLU); ``name`` is the unit's full layer name."""

    name: str
    filters: int
    kernel: tuple[int, int]
    strides: int = 1
    padding: str = "same"


@dataclass(frozen=True)
class PoolRow:
    """A max or average pooling layer."""

    name: str
    kind: str  # "max" or "avg"
    size: int = 3
    strides: int = 1
    padding: str = "same"


@dataclass(frozen=True)
class Branch:
    """A chain of convs/pools; ``split`` convs then run in parallel on the chain's output and
    are concatenated under ``split_name`` (Inception v3's expanded 1x3 / 3x1 filter bank)."""

    layers: tuple[ConvRow | PoolRow, ...]
    split: tuple[ConvRow, ...] = ()
    split_name: str = ""


@dataclass(frozen=True)
class Module:
    """Parallel branches concatenated on the channel axis under ``name``."""

    name: str
    branches: tuple[Branch, ...]


Item = ConvRow | PoolRow | Module


@dataclass(frozen=True)
class V1Block:
    """One row of GoogLeNet's Table 1.

    Attributes:
        name: Module name from the paper ("3a" .. "5b").
        n1x1 / n3x3_reduce / n3x3 / n5x5_reduce / n5x5 / pool_proj: The table's filter counts.
        pool_after: A 3x3/2 max-pool follows this module.
    """

    name: str
    n1x1: int
    n3x3_reduce: int
    n3x3: int
    n5x5_reduce: int
    n5x5: int
    pool_proj: int
    pool_after: bool = False


@dataclass(frozen=True)
class Architecture:
    """A version's layer table: stem, body and graph name."""

    graph_name: str
    stem: tuple[Item, ...]
    body: tuple[Item, ...]


# ---------------------------------------------------------------------------------------------
# GoogLeNet (Inception v1) — Szegedy et al. 2014, Table 1 (Caffe layer names, "/" -> "_")
# ---------------------------------------------------------------------------------------------

GOOGLENET_BLOCKS: tuple[V1Block, ...] = (
    V1Block("3a", 64, 96, 128, 16, 32, 32),
    V1Block("3b", 128, 128, 192, 32, 96, 64, pool_after=True),
    V1Block("4a", 192, 96, 208, 16, 48, 64),
    V1Block("4b", 160, 112, 224, 24, 64, 64),
    V1Block("4c", 128, 128, 256, 24, 64, 64),
    V1Block("4d", 112, 144, 288, 32, 64, 64),
    V1Block("4e", 256, 160, 320, 32, 128, 128, pool_after=True),
    V1Block("5a", 256, 160, 320, 32, 128, 128),
    V1Block("5b", 384, 192, 384, 48, 128, 128),
)

GOOGLENET_STEM: tuple[Item, ...] = (
    ConvRow("conv1_7x7_s2", 64, (7, 7), 2),
    PoolRow("pool1_3x3_s2", "max", 3, 2),
    ConvRow("conv2_3x3_reduce", 64, (1, 1)),
    ConvRow("conv2_3x3", 192, (3, 3)),
    PoolRow("pool2_3x3_s2", "max", 3, 2),
)


def v1_module(row: V1Block) -> Module:
    """The four-branch GoogLeNet module of one Table 1 row.

    Args:
        row: The table row.

    Returns:
        ``Module`` named ``inception_<row.name>`` (1x1 | 1x1->3x3 | 1x1->5x5 | maxpool->1x1).
    """
    p = f"inception_{row.name}"
    return Module(p, (
        Branch((ConvRow(f"{p}_1x1", row.n1x1, (1, 1)),)),
        Branch((ConvRow(f"{p}_3x3_reduce", row.n3x3_reduce, (1, 1)),
                ConvRow(f"{p}_3x3", row.n3x3, (3, 3)))),
        Branch((ConvRow(f"{p}_5x5_reduce", row.n5x5_reduce, (1, 1)),
                ConvRow(f"{p}_5x5", row.n5x5, (5, 5)))),
        Branch((PoolRow(f"{p}_pool", "max"), ConvRow(f"{p}_pool_proj", row.pool_proj, (1, 1)))),
    ))


def v1_body(blocks: tuple[V1Block, ...]) -> tuple[Item, ...]:
    """Modules of ``blocks`` with a 3x3/2 max-pool after each row marked ``pool_after``."""
    items: list[Item] = []
    for row in blocks:
        items.append(v1_module(row))
        if row.pool_after:
            items.append(PoolRow(f"pool{row.name[0]}_3x3_s2", "max", 3, 2))
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# Inception v3 — keras.applications.InceptionV3 (module names mixed0..mixed10 as in Keras)
# ---------------------------------------------------------------------------------------------


def _chain(p: str, branch: str,
           rows: tuple[tuple[int, tuple[int, int]], ...]) -> tuple[ConvRow, ...]:
    """Same-padded stride-1 convs named ``<p>_<branch>_<i>`` (or ``<p>_<branch>`` alone)."""
    if len(rows) == 1:
        return (ConvRow(f"{p}_{branch}", rows[0][0], rows[0][1]),)
    return tuple(ConvRow(f"{p}_{branch}_{i}", f, k) for i, (f, k) in enumerate(rows, start=1))


def _pool_branch(p: str, proj: int) -> Branch:
    return Branch((PoolRow(f"{p}_pool", "avg"), ConvRow(f"{p}_pool_proj", proj, (1, 1))))


def _v3_a(p: str, pool_proj: int) -> Module:
    """35x35 module (mixed0-2): 1x1 | 1x1->5x5 | 1x1->3x3->3x3 | avgpool->1x1."""
    return Module(p, (
        Branch(_chain(p, "branch1x1", ((64, (1, 1)),))),
        Branch(_chain(p, "branch5x5", ((48, (1, 1)), (64, (5, 5))))),
        Branch(_chain(p, "branch3x3dbl", ((64, (1, 1)), (96, (3, 3)), (96, (3, 3))))),
        _pool_branch(p, pool_proj),
    ))


def _v3_b(p: str) -> Module:
    """35 -> 17 reduction (mixed3): 3x3/2 | 1x1->3x3->3x3/2 | maxpool/2, all valid."""
    return Module(p, (
        Branch((ConvRow(f"{p}_branch3x3", 384, (3, 3), 2, "valid"),)),
        Branch(_chain(p, "branch3x3dbl", ((64, (1, 1)), (96, (3, 3))))
               + (ConvRow(f"{p}_branch3x3dbl_3", 96, (3, 3), 2, "valid"),)),
        Branch((PoolRow(f"{p}_pool", "max", 3, 2, "valid"),)),
    ))


def _v3_c(p: str, c7: int) -> Module:
    """17x17 module with factorised 7x7 convs (mixed4-7); ``c7`` is the inner width."""
    return Module(p, (
        Branch(_chain(p, "branch1x1", ((192, (1, 1)),))),
        Branch(_chain(p, "branch7x7", ((c7, (1, 1)), (c7, (1, 7)), (192, (7, 1))))),
        Branch(_chain(p, "branch7x7dbl", ((c7, (1, 1)), (c7, (7, 1)), (c7, (1, 7)),
                                          (c7, (7, 1)), (192, (1, 7))))),
        _pool_branch(p, 192),
    ))


def _v3_d(p: str) -> Module:
    """17 -> 8 reduction (mixed8)."""
    return Module(p, (
        Branch((ConvRow(f"{p}_branch3x3_1", 192, (1, 1)),
                ConvRow(f"{p}_branch3x3_2", 320, (3, 3), 2, "valid"))),
        Branch(_chain(p, "branch7x7x3", ((192, (1, 1)), (192, (1, 7)), (192, (7, 1))))
               + (ConvRow(f"{p}_branch7x7x3_4", 192, (3, 3), 2, "valid"),)),
        Branch((PoolRow(f"{p}_pool", "max", 3, 2, "valid"),)),
    ))


def _v3_e(p: str, split_name: str) -> Module:
    """8x8 module with expanded 1x3 / 3x1 filter banks (mixed9-10)."""
    def split(branch: str) -> tuple[ConvRow, ...]:
        return (ConvRow(f"{p}_{branch}_1x3", 384, (1, 3)),
                ConvRow(f"{p}_{branch}_3x1", 384, (3, 1)))

    return Module(p, (
        Branch(_chain(p, "branch1x1", ((320, (1, 1)),))),
        Branch(_chain(p, "branch3x3", ((384, (1, 1)),)), split("branch3x3"), split_name),
        Branch(_chain(p, "branch3x3dbl", ((448, (1, 1)), (384, (3, 3)))),
               split("branch3x3dbl"), f"{p}_branch3x3dbl"),
        _pool_branch(p, 192),
    ))


V3_STEM: tuple[Item, ...] = (
    ConvRow("conv2d_1a_3x3", 32, (3, 3), 2, "valid"),
    ConvRow("conv2d_2a_3x3", 32, (3, 3), 1, "valid"),
    ConvRow("conv2d_2b_3x3", 64, (3, 3)),
    PoolRow("max_pool_3a_3x3", "max", 3, 2, "valid"),
    ConvRow("conv2d_3b_1x1", 80, (1, 1), 1, "valid"),
    ConvRow("conv2d_4a_3x3", 192, (3, 3), 1, "valid"),
    PoolRow("max_pool_5a_3x3", "max", 3, 2, "valid"),
)

V3_BODY: tuple[Item, ...] = (
    _v3_a("mixed0", 32), _v3_a("mixed1", 64), _v3_a("mixed2", 64),
    _v3_b("mixed3"),
    _v3_c("mixed4", 128), _v3_c("mixed5", 160), _v3_c("mixed6", 160), _v3_c("mixed7", 192),
    _v3_d("mixed8"),
    _v3_e("mixed9", "mixed9_0"), _v3_e("mixed10", "mixed9_1"),
)

ARCHITECTURES: dict[str, Architecture] = {
    "v1": Architecture("googlenet", GOOGLENET_STEM, v1_body(GOOGLENET_BLOCKS)),
    "v3": Architecture("inception_v3", V3_STEM, V3_BODY),
}
