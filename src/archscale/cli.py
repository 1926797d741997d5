"""``archscale <verb>``: the command line.

Each verb lives in its own module under ``archscale.cli_verbs`` (see that package's docstring
for the contract) and is listed in ``VERBS``. Exit codes: 0 ok, 1 a run failed, 2 bad input.
Bad input of any kind (argparse errors, ``ArchscaleError``) prints exactly one line,
``archscale <verb>: error: <message>``, on stderr and no traceback; an unexpected exception
prints one line and exits 1 (set ``ARCHSCALE_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from types import ModuleType
from typing import Sequence

from archscale.cli_verbs.common import add_json_argument
from archscale.errors import ArchscaleError
from archscale.version import __version__

#: Verb modules under ``archscale.cli_verbs``, in ``--help`` order.
VERBS: tuple[str, ...] = ("catalogue", "profile", "bench", "propose", "tune", "inspect",
                         "report")

PROG = "archscale"

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

_EPILOG = f"""\
Run '{PROG} <verb> --help' for the options and an example of each verb.
Exit codes: 0 ok, 1 a run failed, 2 bad input. Set ARCHSCALE_DEBUG=1 for tracebacks.
"""


class _UsageExit(Exception):
    """Raised by ``_Parser.error`` instead of printing usage and exiting."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors become one line (``main`` prints them) instead of usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageExit(self.prog, f"{message} (see '{self.prog} --help')")


def verb_modules(names: Sequence[str] = VERBS) -> list[ModuleType]:
    """The imported verb modules of ``names`` (default every verb; cheap: no TensorFlow)."""
    return [importlib.import_module(f"archscale.cli_verbs.{name}") for name in names]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with one subparser per verb module.

    Args:
        only: Build only this verb's subparser (what ``main`` does when the command line names
            a verb, so ``archscale profile m.keras`` never imports the runner or reporting);
            ``None`` builds every verb (``archscale --help``, unknown verbs).

    Returns:
        A parser whose parsed namespace carries ``verb`` (the name) and ``_module``.
    """
    parser = _Parser(prog=PROG, description="Size Keras architectures from data and budgets; "
                     "profile and benchmark them exactly.", epilog=_EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs", required=True)
    for module in verb_modules(VERBS if only is None else (only,)):
        verb = sub.add_parser(module.NAME, help=module.HELP,
                              description=getattr(module, "DESCRIPTION", module.HELP),
                              epilog=module.EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(verb)
        add_json_argument(verb)
        verb.set_defaults(_module=module)
    return parser


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _fail(prog: str, message: str, code: int) -> int:
    if os.environ.get("ARCHSCALE_DEBUG") == "1" and sys.exc_info()[0] is not None:
        traceback.print_exc()
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 ok, 1 a run failed, 2 bad input.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in argv if not a.startswith("-")), None)
    nul = next((a for a in argv if "\0" in a), None)
    if nul is not None:  # only possible in-process: no shell passes a NUL byte
        return _fail(f"{PROG} {named}" if named in VERBS else PROG,
                     f"arguments cannot contain NUL bytes. Received: {nul!r}", EXIT_BAD_INPUT)
    parser = build_parser(named if named in VERBS else None)
    try:
        args, extras = parser.parse_known_args(argv)
    except _UsageExit as exc:
        return _fail(exc.prog, str(exc), EXIT_BAD_INPUT)
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    prog = f"{PROG} {args.verb}"
    if extras:  # reported by the verb's name, not the top-level parser's
        return _fail(prog, f"unrecognized arguments: {' '.join(extras)} (see '{prog} --help')",
                     EXIT_BAD_INPUT)
    try:
        return int(args._module.run(args) or EXIT_OK)
    except ArchscaleError as exc:
        return _fail(prog, str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `archscale catalogue | head`: not an error
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the CLI must never show a bare traceback
        return _fail(prog, f"{type(exc).__name__}: {exc}", EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
