"""tools/mutants.py's table of equivalent mutants parses, and every row names a mutated module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("mutants_tool", ROOT / "tools" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_equivalent_mutants_name_target_modules_and_give_reasons():
    tool = _tool()
    listed = tool.equivalents()
    assert len(listed) > 50
    prefixes = tuple(tool._module(p) + "." for t in tool.TARGETS.values() for p in t.paths)
    assert all(name.startswith(prefixes) for name in listed), [
        n for n in listed if not n.startswith(prefixes)]
    assert all(len(reason) > 20 for reason in listed.values())
    text = tool.EQUIVALENT.read_text(encoding="utf-8")
    assert sum(text.count(f"`{name}`") for name in listed) == len(listed)  # each listed once


def test_equivalents_parser(tmp_path):
    tool = _tool()
    table = tmp_path / "eq.md"
    table.write_text("| mutants | what | why |\n|---|---|---|\n"
                     "| `archscale.a.x_f__mutmut_1`, `archscale.a.x_f__mutmut_2` | x | same |\n"
                     "not a row `archscale.a.x_f__mutmut_3`\n", encoding="utf-8")
    assert tool.equivalents(table) == {"archscale.a.x_f__mutmut_1": "same",
                                       "archscale.a.x_f__mutmut_2": "same"}
    assert tool.equivalents(tmp_path / "missing.md") == {}
    assert tool._module("src/archscale/runner/store.py") == "archscale.runner.store"
