"""Every policy of the pack, in the order the pack lists them."""

from __future__ import annotations

from typing import Final

from pulumi_policy import Policy

from bluegreen_policies import advisory, bluegreen_rules, pod_security, supply_chain

PACK_NAME: Final = "bluegreen-guardrails"
POLICIES: Final[list[Policy]] = [
    *bluegreen_rules.POLICIES,
    *pod_security.POLICIES,
    *supply_chain.POLICIES,
    *advisory.POLICIES,
]
