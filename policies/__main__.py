"""Builds the policy pack; the engine runs this folder with it as the working directory.

The pack is self-contained, so it can be published on its own (`pulumi policy publish`): it imports
only pulumi_policy and its own package, bluegreen_policies/. The names, labels and image grammar it
checks against are the program's, copied in by `make policies-shared` (a test keeps them equal).
"""

from __future__ import annotations

from bluegreen_policies.catalog import PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES)
