"""Blue/green deployments on Kubernetes with Pulumi.

The layers, each importing only those below it:
- `naming`: colors, names, labels and selectors, the one source of truth for all of them;
- `config/`: the key table, the pydantic layers generated from it, and the typed model of an app;
- `app/`: the component, `BlueGreenApp`, built from the model by Kubernetes builders and hooks;
- `provider`: the component as a package for every Pulumi language;
- `cli/`: `bgctl`, the operator tool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bluegreen.app.args import ActiveColor, BlueGreenAppArgs, ServiceType
    from bluegreen.app.component import BlueGreenApp

__all__ = ["ActiveColor", "BlueGreenApp", "BlueGreenAppArgs", "ServiceType"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `bgctl` and the config parser never load the Kubernetes SDK.
    if name == "BlueGreenApp":
        from bluegreen.app.component import BlueGreenApp

        return BlueGreenApp
    if name in ("BlueGreenAppArgs", "ActiveColor", "ServiceType"):
        from bluegreen.app import args

        return getattr(args, name)
    raise AttributeError(f"module 'bluegreen' has no attribute {name!r}")
