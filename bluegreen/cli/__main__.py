"""`python -m bluegreen.cli`: the same as the `bgctl` console script."""

from __future__ import annotations

from bluegreen.cli.main import main

raise SystemExit(main())
