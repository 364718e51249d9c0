"""Builds the policy pack; the engine runs this file with the pack folder as working directory."""

from __future__ import annotations

import sys
from pathlib import Path

# The rules share components.naming with the program, so the repository root must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policies.catalog import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES)
