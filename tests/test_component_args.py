"""The component checks its own arguments, so a caller that skips the config parser is stopped too."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pytest

from components.bluegreen import BlueGreenApp, BlueGreenAppArgs
from components.settings import parse_settings
from tests.conftest import dev_config, engine_value


def _args(**changes: Any) -> BlueGreenAppArgs:
    app = parse_settings({k: engine_value(v) for k, v in dev_config().items()}).apps[0]
    return BlueGreenAppArgs(app=dataclasses.replace(app, **changes), namespace="bluegreen-dev")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"name": "Backend"},
            "BlueGreenApp: app.name 'Backend' must be a DNS-1035 label of at most 55 characters: lower case letters, "
            "digits and '-', starting with a letter and ending with a letter or digit",
        ),
        ({"active_color": "purple"}, "BlueGreenApp: app.active_color 'purple' is not 'blue' or 'green'"),
        ({"container_port": 0}, "BlueGreenApp: app.container_port 0 is outside 1..65535"),
        ({"idle_replicas": 3}, "BlueGreenApp: app.idle_replicas 3 is outside 0..2"),
    ],
)
def test_bad_arguments_raise_before_anything_is_registered(changes, message):
    with pytest.raises(ValueError) as error:
        BlueGreenApp("backend", _args(**changes))
    assert str(error.value) == message


def test_an_unpinned_image_is_named_with_its_color():
    args = _args()
    green = dataclasses.replace(args.app.green, image="app:latest")
    args = dataclasses.replace(args, app=dataclasses.replace(args.app, green=green))
    with pytest.raises(ValueError) as error:
        BlueGreenApp("backend", args)
    assert str(error.value) == (
        "BlueGreenApp: app.green.image 'app:latest' must be pinned to a tag or digest other than \"latest\""
    )


def test_a_bad_namespace_is_named():
    with pytest.raises(ValueError) as error:
        BlueGreenApp("backend", dataclasses.replace(_args(), namespace="Team_A"))
    assert str(error.value) == (
        "BlueGreenApp: namespace 'Team_A' must be a DNS-1123 label of at most 63 characters: lower case letters, "
        "digits and '-', starting and ending with a letter or digit"
    )
    assert isinstance(error.value, ValueError) and not isinstance(error.value, pulumi.RunError)
