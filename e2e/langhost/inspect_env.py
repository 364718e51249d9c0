"""Describes a Python environment for the launcher: `python -P inspect_env.py plugins|dependencies|about`.

Runs in the program's (or policy pack's) virtualenv and prints one JSON document:
- plugins: the resource plugins its installed packages ask for, read from each distribution's
  `pulumi-plugin.json` (name, version, server), as Pulumi's own host discovers them;
- dependencies: every installed distribution's name and version;
- about: the interpreter's path and version.

Only the standard library: this file runs in whichever virtualenv the project names.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from typing import Any, Final

PLUGIN_FILE: Final = "pulumi-plugin.json"
NOT_PLUGINS: Final = frozenset({"pulumi", "pulumi-policy"})
"""The SDKs themselves: they ship no resource provider."""


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-")


def plugins() -> list[dict[str, str]]:
    found: dict[tuple[str, str], dict[str, str]] = {}
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"] or "")
        if name in NOT_PLUGINS:
            continue
        for file in dist.files or ():
            if file.name != PLUGIN_FILE:
                continue
            try:
                info: Any = json.loads(file.read_text() or "{}")
            except (OSError, ValueError):
                continue
            if not isinstance(info, dict) or not info.get("resource", False):
                continue
            plugin = str(info.get("name") or name.removeprefix("pulumi-"))
            version = str(info.get("version") or dist.version)
            entry = {"name": plugin, "version": version if version.startswith("v") else f"v{version}"}
            if info.get("server"):
                entry["server"] = str(info["server"])
            found[(plugin, entry["version"])] = entry
    return [found[key] for key in sorted(found)]


def dependencies() -> list[dict[str, str]]:
    found = {_canonical(d.metadata["Name"] or ""): d.version for d in metadata.distributions()}
    return [{"name": name, "version": found[name]} for name in sorted(found) if name]


def about() -> dict[str, str]:
    return {"executable": sys.executable, "version": platform.python_version()}


COMMANDS: Final = {"plugins": plugins, "dependencies": dependencies, "about": about}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]]()))
