"""One module per ``archscale`` verb.

The verb contract (``archscale.cli`` relies on it; add the module name to ``cli.VERBS``):

- ``NAME``: the verb as typed on the command line (``"profile"``).
- ``HELP``: one-line summary shown by ``archscale --help``.
- ``DESCRIPTION``: optional longer text at the top of ``archscale <verb> --help``.
- ``EXAMPLES``: the ``epilog`` of ``archscale <verb> --help``; at least one example command.
- ``add_arguments(parser)``: add the verb's options. ``--json`` is added by ``archscale.cli``
  for every verb (read it as ``args.json``); use ``common.add_format_argument`` for tables.
- ``run(args) -> int``: do the work and return the exit code (0 ok, 1 a run failed). Raise an
  ``archscale.errors.ArchscaleError`` (e.g. ``common.UsageError``) for bad input: the CLI prints
  its message on one line and exits 2.

Importing a verb module must not import TensorFlow or other heavy packages: import them inside
``run``. ``tests/test_cli.py`` checks this for every verb in ``cli.VERBS``.
"""
