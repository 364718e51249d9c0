"""Policy config: the JSON schemas the engine validates, and typed reads of the values it sends.

Values arrive as JSON decoded by protobuf, so every number is a float; a key the user left out may
be absent even though its schema has a default, so every read falls back to the same default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import PolicyConfigSchema

DEFAULT_MIN_ACTIVE_REPLICAS: Final = 2
DEFAULT_MIN_REPLICAS: Final = 2
EXPOSED_SERVICE_TYPES: Final = ("NodePort", "LoadBalancer")


def count_schema(key: str, default: int, description: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={key: {"type": "integer", "minimum": 1, "default": default, "description": description}}
    )


def allowed_types_schema() -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={
            "allowedTypes": {
                "type": "array",
                "items": {"type": "string", "enum": list(EXPOSED_SERVICE_TYPES)},
                "uniqueItems": True,
                "default": [],
                "description": "Service types that may expose an app outside the cluster.",
            }
        }
    )


def read_count(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def read_strings(config: Mapping[str, Any], key: str) -> frozenset[str]:
    value = config.get(key, ())
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))
