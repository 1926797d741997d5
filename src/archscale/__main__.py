"""``python -m archscale`` runs the command line (same as the ``archscale`` script)."""

from archscale.cli import main

raise SystemExit(main())
