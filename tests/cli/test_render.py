"""`bgctl render`: the objects the stack would create, with no CLI and no cluster, refused as `pulumi up` refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bluegreen.cli.main import main
from bluegreen.config.stack import ConfigError, parse_settings
from tests.app.test_kubernetes_schema import KUBERNETES_VERSIONS
from tests.conftest import ROOT, dev_config, engine_value, object_name, run_program

PROGRAM_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "demo")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's program and dev stack, to edit."""
    for name in PROGRAM_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def _render(capsys: pytest.CaptureFixture[str], work_dir: Path) -> tuple[int, list[dict], str]:
    code = main(["render", "--work-dir", str(work_dir)])
    captured = capsys.readouterr()
    return code, [doc for doc in yaml.safe_load_all(captured.out) if doc], captured.err


def _set(work_dir: Path, key: str, value: object) -> None:
    path = work_dir / "Pulumi.dev.yaml"
    stack = yaml.safe_load(path.read_text())
    stack["config"][f"bluegreen:{key}"] = value
    path.write_text(yaml.safe_dump(stack))


def test_the_dev_stack_renders_exactly_the_objects_the_program_registers(capsys) -> None:
    code, objects, err = _render(capsys, ROOT)
    registered = run_program(dev_config()).kubernetes
    assert (code, err) == (0, "")
    shown = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert sorted(shown) == sorted((r.type.rsplit(":", 1)[1], object_name(r)) for r in registered)
    assert len(shown) == 13
    assert shown[:2] == [("Namespace", "bluegreen-dev"), ("NetworkPolicy", "backend")]


@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_kubernetes(capsys, kubernetes: str) -> None:
    _, objects, _ = _render(capsys, ROOT)
    for manifest in objects:
        kubernetes_validate.validate(manifest, kubernetes, strict=True)


def test_bad_config_is_refused_with_the_message_pulumi_up_prints(capsys, project: Path) -> None:
    _set(project, "activeColor", "Green")
    code, objects, err = _render(capsys, project)
    with pytest.raises(ConfigError) as error:
        parse_settings({**{k: engine_value(v) for k, v in dev_config().items()}, "activeColor": "Green"})
    # The same problems in the same words; as every bgctl error, on one line.
    assert (code, objects, err) == (1, [], f"bgctl: error: {' '.join(str(error.value).split())}\n")


def test_a_secret_env_is_shown_as_secret_and_only_in_the_secret(capsys, project: Path) -> None:
    # As `pulumi config set --secret --path bluegreen:env.TOKEN ...` stores it.
    _set(project, "env", {"TOKEN": {"secure": "v1:ciphertext-the-cli-alone-can-read"}, "LOG": "info"})
    code, objects, _ = _render(capsys, project)
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert (code, secret["stringData"], secret["metadata"]["name"]) == (0, "[secret]", "backend-env-<generated>")
    blue = next(o for o in objects if (o["kind"], o["metadata"]["name"]) == ("Deployment", "backend-blue"))
    (container,) = blue["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": "backend-env-<generated>", "key": name}}}
        for name in ("LOG", "TOKEN")
    ]
    assert "ciphertext" not in yaml.safe_dump_all(objects)


def test_a_missing_stack_file_is_one_line(capsys, project: Path) -> None:
    (project / "Pulumi.dev.yaml").unlink()
    code, objects, err = _render(capsys, project)
    assert (code, objects) == (1, [])
    assert err == f"bgctl: error: no Pulumi.dev.yaml in {project}: create the stack with `pulumi stack init dev`\n"
