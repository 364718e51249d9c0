"""Names, labels and selectors all come from one module; these are their exact values."""

from __future__ import annotations

import pytest

from bluegreen import naming


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [
        (naming.deployment_name, ("backend", "blue"), "backend-blue"),
        (naming.deployment_name, ("backend", "green"), "backend-green"),
        (naming.pdb_name, ("api", "green"), "api-green"),
        (naming.service_name, ("backend",), "backend"),
        (naming.preview_service_name, ("backend",), "backend-preview"),
        (naming.service_account_name, ("backend",), "backend"),
        (naming.service_dns_name, ("backend", "shop"), "backend.shop.svc.cluster.local"),
        (naming.other_color, ("blue",), "green"),
        (naming.other_color, ("green",), "blue"),
    ],
)
def test_names_are_derived_from_the_app_name(function, args, expected):
    assert function(*args) == expected


def test_selector_holds_only_app_and_color():
    assert naming.selector("backend", "green") == {"app": "backend", "color": "green"}
    assert set(naming.selector("backend", "green")) == naming.SELECTOR_KEYS


def test_pod_labels_extend_the_selector_with_the_version():
    assert naming.pod_labels("backend", "blue", "1.1") == {
        "app": "backend",
        "color": "blue",
        "version": "1.1",
        "app.kubernetes.io/name": "backend",
        "app.kubernetes.io/version": "1.1",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_the_longest_app_name_leaves_room_for_the_preview_suffix():
    longest = "a" * naming.MAX_APP_NAME_LENGTH
    assert len(naming.preview_service_name(longest)) == naming.MAX_LABEL_LENGTH


@pytest.mark.parametrize(
    ("value", "color"),
    [("blue", "blue"), ("green", "green"), ("Blue", None), (" blue", None), ("", None), (None, None), (1, None)],
)
def test_a_color_is_read_only_from_its_exact_name(value, color):
    assert naming.as_color(value) == color
