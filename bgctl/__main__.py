"""`python -m bgctl`."""

from __future__ import annotations

from bgctl.cli import main

raise SystemExit(main())
