"""What is generated from the key table: Pulumi.yaml's `config:` block, the documented key table, and
BlueGreenApp's typed arguments (bluegreen/app/args.py, which the SDK reads as source for the schema).

`python -m bluegreen.config.reference pulumi-yaml|key-table|component-args` prints one; tests keep
each file equal to it.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any, Final

from bluegreen.config import keys, schema
from bluegreen.config.keys import BY_NAME, KEYS, Key
from bluegreen.config.resolve import MISSING

TARGETS: Final = ("pulumi-yaml", "key-table", "component-args")


def pulumi_yaml_config() -> dict[str, Any]:
    """Pulumi.yaml's `config:` block, as the table declares it."""
    block: dict[str, Any] = {}
    for key in KEYS:
        if not key.declared:
            continue
        spec: dict[str, Any] = {"type": key.type}
        if key.items:
            spec["items"] = {"type": key.items}
        spec["description"] = key.description
        if not key.required:
            spec["default"] = key.default
        block[key.name] = spec
    return block


def _default_text(key: Key) -> str:
    if key.required or not key.declared:
        return repr(key.default)
    if key.default in ("", [], {}):
        return f"`{json.dumps(key.default)}` (unset)"
    return f"`{json.dumps(key.default) if not isinstance(key.default, str) else key.default}`"


def key_table() -> str:
    """The documented key table (docs/configuration.md), as the table declares it."""
    lines = ["| key | type | default | allowed | per app | meaning |", "|---|---|---|---|---|---|"]
    for key in KEYS:
        lines.append(
            f"| `{key.name}` | {key.type} | {_default_text(key)} | {key.allowed()} | "
            f"{'yes' if key.per_app else 'no'} | {key.description} |"
        )
    return "\n".join(lines) + "\n"


# The enums of the arguments with a fixed set of values: class name, its meaning, and each value's.
ENUMS: Final[Mapping[str, tuple[str, str, Mapping[str, str]]]] = {
    "activeColor": (
        "ActiveColor",
        "The color the Service sends traffic to.",
        {"blue": "Blue gets the traffic.", "green": "Green gets the traffic."},
    ),
    "serviceType": (
        "ServiceType",
        "How the active Service is exposed.",
        {
            "ClusterIP": "Inside the cluster only.",
            "NodePort": "Also on a port of every node.",
            "LoadBalancer": "Also through the cloud's load balancer.",
        },
    ),
}
_PYTHON_TYPES: Final = {"string": "str", "integer": "int", "boolean": "bool"}
_HEADER: Final = '''\
"""The arguments of `BlueGreenApp`, typed for every Pulumi language.

Generated from the key table: `python -m bluegreen.config.reference component-args > bluegreen/app/args.py`.
The component provider infers the package schema from these annotations and the string under each
field (its description), so this module is read at run time: it must not postpone annotations, and
uses only types the schema can express (no `Literal`, no unions). Each field's camel-case name is the
config key of the same meaning, and its description is that key's. Every value that decides a name,
a label or the routing is plain: it must be known when the program is planned.
"""

from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi
'''


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _docstring(text: str, indent: str) -> Iterator[str]:
    if len(indent) + len(text) + 6 <= 120:
        yield f'{indent}"""{text}"""'
        return
    yield f"{indent}("
    lines = textwrap.wrap(text, 110 - len(indent), drop_whitespace=False)
    for line in lines:
        yield f"{indent}    {json.dumps(line)}"
    yield f"{indent})"


def _argument_type(key: Key) -> str:
    if key.name in ENUMS:
        return ENUMS[key.name][0]
    if key.name == "env":
        return "dict[str, pulumi.Input[str]]"
    if key.type == "array":
        return f"list[{_PYTHON_TYPES[key.items or 'string']}]"
    return _PYTHON_TYPES[key.type]


def component_args_module() -> str:
    """bluegreen/app/args.py: the enums and the TypedDict of BlueGreenApp's arguments."""
    lines = [_HEADER]
    for name, (enum, meaning, values) in ENUMS.items():
        lines += ["", f"class {enum}(StrEnum):", f'    """{meaning}"""', ""]
        for value in BY_NAME[name].choices:
            member = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", value).upper()
            lines += [f'    {member} = "{value}"', f'    """{values[value]}"""']
        lines.append("")
    lines += ["", "class BlueGreenAppArgs(TypedDict):", '    """The arguments of one blue/green app."""', ""]
    specs = [BY_NAME.get(name) or keys.CLIENTS_ARGUMENT for name in schema.ARGUMENT_NAMES]
    required = [spec for spec in specs if spec.name == "namespace" or spec.name in MISSING]
    for spec in [*required, *(spec for spec in specs if spec not in required)]:
        kind = _argument_type(spec)
        lines.append(f"    {_snake(spec.name)}: {kind if spec in required else f'NotRequired[{kind}]'}")
        lines += _docstring(spec.argument or spec.description, "    ")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["pulumi-yaml"]:
        import yaml

        sys.stdout.write(yaml.safe_dump({"config": pulumi_yaml_config()}, sort_keys=False, width=1000))
        return 0
    if argv == ["key-table"]:
        sys.stdout.write(key_table())
        return 0
    if argv == ["component-args"]:
        sys.stdout.write(component_args_module())
        return 0
    sys.stderr.write(f"usage: python -m bluegreen.config.reference {'|'.join(TARGETS)}\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
