"""The `bluegreen` component package: `BlueGreenApp` served to every Pulumi language.

The schema is inferred from `BlueGreenAppArgs` and the component's output annotations by the SDK's
component provider. One thing is added: the arguments are checked before the component is built,
and a bad one is answered as the engine's own "invalid input properties" error, each property with
its reason. (A component that raises in its constructor reaches the consumer with a Python
traceback attached.)
"""

from __future__ import annotations

import sys

from pulumi.errors import InputPropertiesError
from pulumi.output import Inputs
from pulumi.provider import ConstructResult, main
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.resource import ResourceOptions

from bluegreen import naming
from bluegreen.app.component import BlueGreenApp
from bluegreen.config import arguments


class BlueGreenProvider(ComponentProvider):
    def __init__(self) -> None:
        super().__init__([BlueGreenApp], naming.PROJECT, None, naming.PACKAGE_VERSION)

    def construct(
        self, name: str, resource_type: str, inputs: Inputs, options: ResourceOptions | None = None
    ) -> ConstructResult:
        if resource_type != naming.COMPONENT_TYPE:
            return super().construct(name, resource_type, inputs, options)
        # The inputs as the engine sent them (schema names, numbers as floats, Outputs where a value is
        # secret or depends on a resource), checked once; the component is built from what that gives.
        try:
            spec = arguments.parse(name, inputs)
        except arguments.ArgumentError as error:
            raise InputPropertiesError(
                error.header,
                [{"property_path": p.key, "reason": arguments.describe(p)} for p in error.problems],
            ) from None
        component = BlueGreenApp.from_spec(name, spec, options)
        return ConstructResult(component.urn, self.get_state(component, self._component_defs[BlueGreenApp.__name__]))


def serve() -> None:
    """Serve the package to the engine (the CLI runs this as the `bluegreen` resource plugin)."""
    main(BlueGreenProvider(), sys.argv[1:])
