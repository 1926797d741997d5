"""Dataset entries of a sweep: validation and identity (parent side), loading (worker side).

A sweep names datasets as strings (``"mnist1d"``, ``"digits"``, ``"npz:data/my.npz"``) or as
tables with options (``{ name = "synthetic", resolution = 16, classes = 4 }``). The parent only
checks the name and, for ``.npz`` files, that the file exists; it records the file's SHA-256 in
the dataset's identity, so a job key changes when the file's content does. Loading happens in
the worker (``job_runners.open_dataset``, through ``archscale.measure.datasets.load_dataset``,
which validates the options).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Iterable, Mapping

from archscale.errors import InputFileError, SpecError
from archscale.measure.dataset_recipes import default_recipe

#: Built-in dataset names (``npz:PATH`` is accepted as well).
DATASET_NAMES = ("mnist1d", "mnist1d_seq", "digits", "synthetic", "breast_cancer", "wine")
NPZ_PREFIX = "npz:"


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_dataset(entry: Any, key: str, base_dir: str = ".") -> dict[str, Any]:
    """Validate one dataset entry and return its canonical description.

    Args:
        entry: A name string or a table with ``name`` and options.
        key: Where the entry is in the sweep (``datasets[0]``), for error messages.
        base_dir: Directory that relative ``npz:`` paths are relative to.

    Returns:
        ``{"name": ..., "options": {...}}``; ``npz`` entries get ``name = "npz:<abs path>"``
        and ``sha256`` (of the file content).

    Raises:
        SpecError: not a string/table, unknown name, options that are not scalars/lists.
        InputFileError: an ``npz:`` file that does not exist.
    """
    if isinstance(entry, str):
        name, options = entry, {}
    elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
        options = {k: v for k, v in entry.items() if k != "name"}
        name = entry["name"]
    else:
        raise SpecError(f"{key} must be a dataset name or a table with a 'name' key, such as "
                        f"{{ name = \"synthetic\", resolution = 16 }}. Received: {key}={entry!r}")
    for option, value in options.items():
        if isinstance(value, Mapping):
            raise SpecError(f"{key}.{option} must be a number, string, bool or list. "
                            f"Received: {key}.{option}={value!r}")
    out: dict[str, Any] = {"name": name, "options": dict(sorted(options.items()))}
    if name.startswith(NPZ_PREFIX):
        path = os.path.abspath(os.path.join(base_dir, os.path.expanduser(name[len(NPZ_PREFIX):])))
        if not os.path.isfile(path):
            raise InputFileError(f"dataset file not found. Received: {key}={name!r}")
        out["name"] = NPZ_PREFIX + path
        out["sha256"] = file_sha256(path)
    elif name not in DATASET_NAMES:
        accepted = ", ".join(DATASET_NAMES)
        raise SpecError(f"unknown dataset {name!r}; accepted: {accepted}, or npz:PATH. "
                        f"Received: {key}={name!r}")
    return out


def dataset_label(desc: Mapping[str, Any] | None) -> str | None:
    """Short display name: ``mnist1d``, ``synthetic(resolution=16)``, ``npz:my.npz``."""
    if desc is None:
        return None
    name = desc["name"]
    if name.startswith(NPZ_PREFIX):
        name = NPZ_PREFIX + os.path.basename(name[len(NPZ_PREFIX):])
    options = desc.get("options") or {}
    if options:
        name += "(" + ",".join(f"{k}={v}" for k, v in options.items()) + ")"
    return name


def resolve_recipe(desc: Mapping[str, Any], overrides: Mapping[str, Any],
                   key: str = "settings.accuracy.recipe") -> dict[str, Any]:
    """The full training recipe of a dataset with the sweep's ``overrides``, as a dict.

    Every field goes into the job's settings (and so into its key): a changed default recipe
    means new jobs, never stale results. Pure Python (``archscale.measure.dataset_recipes``).

    Args:
        desc: A dataset description from ``parse_dataset``.
        overrides: Recipe fields from the sweep (``recipe = { epochs = 10 }``).
        key: Where the overrides are in the sweep, for error messages.

    Returns:
        ``Recipe.to_dict()`` of ``default_recipe(dataset).replace(**overrides)``.

    Raises:
        SpecError: an unknown recipe field or an invalid value (the message names ``key``).
    """
    try:
        return default_recipe(desc["name"]).replace(**dict(overrides)).to_dict()
    except SpecError as exc:
        raise SpecError(f"{key}: {exc}") from None


def check_dataset_files(descs: Iterable[Mapping[str, Any]]) -> None:
    """Load every ``npz:`` dataset once, so a file with wrong shapes, labels or keys is bad
    input before any job runs (built-in datasets are generated, and checked, in the worker).

    Raises:
        InputFileError: the first file that ``load_dataset`` refuses (the message names it).
    """
    from archscale.measure.datasets import load_dataset

    seen: set[str] = set()
    for desc in descs:
        name = desc["name"]
        if name.startswith(NPZ_PREFIX) and name not in seen:
            seen.add(name)
            try:
                load_dataset(name, **dict(desc.get("options") or {}))
            except SpecError as exc:
                raise InputFileError(str(exc)) from None
