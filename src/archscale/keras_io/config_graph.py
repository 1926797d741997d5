"""One translation of a Keras model into a ``Graph``, from its serialised config: the
``config.json`` of a ``.keras`` file, or ``get_config()`` of a live model (``from_keras``).

No Keras import. A live model adds what only the objects know (``LiveModel``): the weights
each layer holds, output shapes Keras inferred and shape inference for untranslated layers.
Without them (a file), an untranslated layer's weights or output shape may be unknown; the
walk then raises ``NeedsKeras`` and the caller loads the file with Keras instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from archscale.cost_rules import int8_weights
from archscale.errors import ShapeError, UnsupportedModelError
from archscale.graph import Graph, GraphBuilder
from archscale.keras_io.config_values import Call, TensorArg, Untranslatable
from archscale.keras_io.readers import OPERATION_READERS, READERS, WEIGHTLESS
from archscale.ops import COST_RULES

Dims = tuple[Any, ...]
_MODEL_CLASSES = ("Functional", "Sequential", "Model")


class NeedsKeras(Exception):
    """The config alone does not say a layer's weights or output shape (a custom class)."""


@dataclass(frozen=True)
class LiveModel:
    """What a live Keras model adds to its config, keyed by layer path (``outer.inner``).

    Attributes:
        held: path -> (trainable, non-trainable, int8) weight counts the layer holds.
        out_shapes: (path, node index) -> its output shapes (no batch axis; ``None`` dims).
        infer: ``(path, input shapes) -> output shapes`` for an untranslated layer whose
            recorded shape is not static (a nested model built without an input shape).
    """

    held: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    out_shapes: Mapping[tuple[str, int], list[Dims]] = field(default_factory=dict)
    infer: Callable[[str, list[Dims]], list[Dims] | None] | None = None


def _triples(value: Any) -> list[tuple[str, int, int]]:
    if value and isinstance(value[0], str):
        value = [value]
    return [tuple(v) for v in value or []]


def _tensor_key(obj: Any) -> tuple[str, int, int] | None:
    if isinstance(obj, Mapping) and obj.get("class_name") == "__keras_tensor__":
        return tuple(obj["config"]["keras_history"])
    return None


def _record(obj: Any, out: dict) -> None:
    key = _tensor_key(obj)
    if key is not None:
        shape = obj["config"].get("shape")
        if shape is not None:
            out[key] = tuple(shape[1:])
    elif isinstance(obj, Mapping):
        for v in obj.values():
            _record(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _record(v, out)


def _agrees(shape: Dims, expected: Dims) -> bool:
    return len(shape) == len(expected) and all(e is None or e == s
                                               for s, e in zip(shape, expected))


class _Walker:
    def __init__(self, name: str, live: LiveModel | None) -> None:
        self.g = GraphBuilder(name)
        self.live = live
        self.first: dict[str, str] = {}
        self.notes: list[str] = []
        self.frozen = [0, 0]

    def unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.g._nodes:  # noqa: SLF001 - builder internals, same package
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    # -- models ----------------------------------------------------------------------------

    def model(self, entry: Mapping, ins: list[str] | None, prefix: str, frozen: bool
              ) -> list[str]:
        conf = entry["config"]
        frozen = frozen or conf.get("trainable") is False
        if entry["class_name"] == "Sequential":
            return self.sequential(conf, ins, prefix, frozen)
        recorded: dict = {}
        _record(conf["layers"], recorded)
        inputs = _triples(conf["input_layers"])
        tensors: dict[tuple, str] = {}
        for i, key in enumerate(inputs):
            if ins is not None:
                tensors[key] = ins[i]
        pending = []
        for layer in conf["layers"]:
            if layer["class_name"] == "InputLayer":
                key = (layer["name"], 0, 0)
                if ins is None:
                    shape = self.static_input(layer["config"], layer["name"])
                    tensors[key] = self.g.input(shape, name=self.unique(prefix + layer["name"]))
                continue
            for index, node in enumerate(layer.get("inbound_nodes") or []):
                pending.append((layer, index, node))
        wanted = [k for k in _triples(conf["output_layers"])]
        progress = True
        while pending and progress:
            progress, later = False, []
            for layer, index, node in pending:
                call = self.call(node, tensors)
                if call is None:
                    later.append((layer, index, node))
                    continue
                progress = True
                count = 1 + max([k[2] for k in list(recorded) + wanted
                                 if k[:2] == (layer["name"], index)], default=0)
                expected = [recorded.get((layer["name"], index, t)) for t in range(count)]
                refs = self.layer(layer, call, prefix, frozen, index, expected)
                for t, ref in enumerate(refs):
                    tensors[(layer["name"], index, t)] = ref
            pending = later
        return [tensors[k] for k in wanted]

    def sequential(self, conf: Mapping, ins: list[str] | None, prefix: str, frozen: bool
                   ) -> list[str]:
        layers = list(conf["layers"])
        if layers and layers[0]["class_name"] == "InputLayer":
            first = layers.pop(0)
            if ins is None:
                shape = self.static_input(first["config"], first["config"]["name"])
                ins = [self.g.input(shape, name=self.unique(prefix + first["config"]["name"]))]
        elif ins is None:
            shape = conf.get("build_input_shape")
            if shape is None:
                raise UnsupportedModelError(f"model {conf.get('name')!r} is not built; call "
                                            "it on data or give it an Input first")
            ins = [self.g.input(self.static_input({"batch_shape": shape}, "input"),
                                name=self.unique(prefix + "input"))]
        refs = ins
        for layer in layers:
            call = Call((TensorArg(refs[0], None),))
            refs = self.layer(layer, call, prefix, frozen, 0, [None])
        return refs

    def static_input(self, conf: Mapping, name: str) -> tuple[int, ...]:
        shape = conf.get("batch_shape") or conf.get("batch_input_shape")
        shape = tuple(shape[1:])
        if any(d is None for d in shape):
            raise UnsupportedModelError(
                f"input {name!r} has unknown dimensions; archscale profiles static shapes "
                f"only. Received: shape={(None,) + shape}")
        return tuple(int(d) for d in shape)

    def call(self, node: Mapping, tensors: Mapping) -> Call | None:
        missing = []

        def convert(obj: Any) -> Any:
            key = _tensor_key(obj)
            if key is not None:
                if key not in tensors:
                    missing.append(key)
                    return None
                shape = obj["config"].get("shape")
                return TensorArg(tensors[key], None if shape is None else tuple(shape[1:]))
            if isinstance(obj, list):
                return [convert(v) for v in obj]
            if isinstance(obj, Mapping) and obj.get("class_name") != "__slice__":
                return {k: convert(v) for k, v in obj.items()}
            return obj

        if isinstance(node, Mapping):
            args, kwargs = node.get("args", []), node.get("kwargs", {})
        else:  # legacy list form [[name, node, tensor, kwargs], ...]
            args = [[{"class_name": "__keras_tensor__", "config": {"keras_history": t[:3]}}
                     for t in node]]
            kwargs = {}
        call = Call(tuple(convert(a) for a in args), {k: convert(v) for k, v in kwargs.items()})
        return None if missing else call

    # -- layers ----------------------------------------------------------------------------

    def layer(self, entry: Mapping, call: Call, prefix: str, frozen: bool, index: int,
              expected: list[Dims | None]) -> list[str]:
        cls, c = entry["class_name"], entry.get("config") or {}
        if cls in _MODEL_CLASSES and isinstance(c, Mapping) and "layers" in c:
            ins = _flat_refs(call.args)
            return self.model(entry, ins, f"{prefix}{c.get('name') or entry.get('name')}.",
                              frozen)
        lname = entry.get("name") or c.get("name")
        path = prefix + lname
        name = self.unique(path)
        is_op = str(entry.get("module", "")).startswith("keras.src.ops")
        ins = _flat_refs(call.args)
        if self.live is not None and (path, index) in self.live.out_shapes:
            expected = list(self.live.out_shapes[(path, index)])
        reader = OPERATION_READERS.get(cls) if is_op else \
            (READERS[cls].read if cls in READERS else None)
        if reader is not None and len(expected) == 1 and ins:
            rank = len(self.g.shape(ins[0])) + 1
            before = list(self.g._nodes)  # noqa: SLF001
            try:
                ref = reader(self.g, c, ins, name, rank, call)
                if expected[0] is not None and not _agrees(self.g.shape(ref), expected[0]):
                    raise Untranslatable("shape disagrees with Keras")
            except (Untranslatable, ShapeError, KeyError, TypeError, ValueError, IndexError):
                for extra in list(self.g._nodes)[len(before):]:  # noqa: SLF001
                    self.g._nodes.pop(extra)  # noqa: SLF001 - discard: never guess
            else:
                created = list(self.g._nodes)[len(before):]  # noqa: SLF001
                self.weights(path, cls, c, created[0], frozen or c.get("trainable") is False,
                             is_op)
                return [ref]
        return self.unsupported(path, name, cls, ins, expected, is_op or cls in WEIGHTLESS,
                                frozen or c.get("trainable") is False)

    def weights(self, path: str, cls: str, c: Mapping, ref: str, frozen: bool, is_op: bool
                ) -> None:
        node = self.g._nodes[ref]  # noqa: SLF001
        if path in self.first:
            node.attrs["shared_with"] = self.first[path]
            return
        self.first[path] = ref
        ins = [self.g.shape(i) for i in node.inputs]
        rule = COST_RULES[node.op](node, ins)
        trainable, fixed = rule.trainable_params, rule.non_trainable_params
        if frozen and not is_op:
            node.attrs["frozen"] = True
            trainable, fixed = 0, trainable + fixed
            self.frozen = [self.frozen[0] + 1, self.frozen[1] + rule.trainable_params]
        a = node.attrs
        if a.get("lora_rank"):
            self.notes.append(f"{path} ({cls}): LoRA rank {a['lora_rank']}: the kernel is "
                              f"frozen, {rule.trainable_params:,} weights train; merging the "
                              "factors costs its MACs once per call")
        if a.get("quantized"):
            self.notes.append(f"{path} ({cls}): int8 kernel ({int8_weights(node, ins):,} "
                              "weights, 1 byte each) plus its float scales")
        held = self.live.held.get(path) if self.live is not None else None
        if held is None:
            return
        if (held[0], held[1]) != (trainable, fixed):
            a["held"] = (held[0], held[1])
            a["note"] = (f"{path} ({cls}): holds {held[0]:,} trainable + {held[1]:,} "
                         f"non-trainable weights where the {node.op} rule gives {trainable:,} "
                         f"+ {fixed:,}; the held counts are used")
        if held[2] != int8_weights(node, ins):
            a["held_int8"] = held[2]

    def unsupported(self, path: str, name: str, cls: str, ins: list[str],
                    expected: list[Dims | None], weightless: bool, frozen: bool) -> list[str]:
        shapes = expected
        if any(s is None or None in s for s in shapes) and self.live is not None \
                and self.live.infer is not None:
            shapes = self.live.infer(path, [self.g.shape(i) for i in ins]) or shapes
        if any(s is None or None in s for s in shapes):
            if self.live is not None:
                raise UnsupportedModelError(
                    f"layer {path!r} ({cls}) has unknown dimensions; archscale profiles static "
                    f"shapes only. Received: {shapes}")
            raise NeedsKeras(f"the output shape of {path} ({cls})")
        if weightless or path in self.first:
            trainable, total = 0, 0
        elif self.live is not None and path in self.live.held:
            held = self.live.held[path]
            trainable, total = held[0], held[0] + held[1]
        else:
            raise NeedsKeras(f"the weights of {path} ({cls})")
        if frozen:
            trainable = 0
        refs = []
        for i, shape in enumerate(shapes):
            ref = self.g.unsupported(ins, tuple(shape), name=name if i == 0 else
                                     self.unique(f"{name}:{i}"), class_name=cls,
                                     params=total if i == 0 else 0,
                                     trainable_params=trainable if i == 0 else 0)
            if i:
                self.g._nodes[ref].attrs["output_index"] = i  # noqa: SLF001 - listed once
            refs.append(ref)
        self.first.setdefault(path, refs[0])
        return refs


def _flat_refs(args: Any) -> list[str]:
    out: list[str] = []
    for a in args:
        if isinstance(a, TensorArg):
            out.append(a.ref)
        elif isinstance(a, list):
            out.extend(_flat_refs(a))
    return out


def graph_from_config(entry: Mapping[str, Any], live: LiveModel | None = None
                      ) -> tuple[Graph, tuple[str, ...]]:
    """Translate a serialised Keras model (``{"class_name", "config"}``) into a ``Graph``.

    Args:
        entry: The model's serialised form: a ``.keras`` file's ``config.json``, or
            ``{"class_name": "Functional" | "Sequential", "config": model.get_config()}``.
        live: What a live model adds (held weights, shapes); ``None`` for a file.

    Returns:
        The graph and the notes on it (frozen layers, LoRA, int8, weights that differ).

    Raises:
        NeedsKeras: (no ``live``) an untranslated layer's weights or shape is not in the
            config.
        UnsupportedModelError: not a functional or Sequential model, or dynamic shapes.
    """
    if entry.get("class_name") not in _MODEL_CLASSES or "layers" not in (entry.get("config")
                                                                          or {}):
        raise UnsupportedModelError(
            "archscale reads functional and Sequential models; subclassed models cannot be "
            f"read layer by layer. Received: {entry.get('class_name')}")
    walker = _Walker(entry["config"].get("name") or "model", live)
    outputs = walker.model(entry, None, "", False)
    notes = list(walker.notes)
    if walker.frozen[0]:
        notes.insert(0, f"{walker.frozen[0]} layers are frozen (trainable=False): their "
                        f"{walker.frozen[1]:,} weights count as non-trainable and get no "
                        "optimizer slots")
    return walker.g.build(outputs), tuple(notes)
