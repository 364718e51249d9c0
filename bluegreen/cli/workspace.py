"""The Automation API side: open the stack, read it, preview and update it, translate its errors.

Everything that runs the Pulumi CLI is here, so the commands above it read as the runbook does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pulumi import automation as auto

from bluegreen import naming
from bluegreen.cli import history as hist
from bluegreen.cli.errors import BgctlError
from bluegreen.cli.plan import SERVICE_TYPE
from bluegreen.naming import COLORS, Color

INSTALL_HINT: Final = (
    'install it with "curl -fsSL https://get.pulumi.com | sh" (https://www.pulumi.com/docs/iac/download-install/)'
)
HISTORY_PAGE_SIZE: Final = 50
HISTORY_MAX_PAGES: Final = 40
_CLI_ERROR_LINE: Final = re.compile(r"^\s*error:\s*(.+)$", re.MULTILINE)

OnEvent = Callable[[auto.EngineEvent], None]


def cli_error(error: BaseException) -> str:
    """The most telling line of a failed CLI command (the SDK packs stdout and stderr into one message)."""
    text = str(error)
    lines = [m.group(1).strip() for m in _CLI_ERROR_LINE.finditer(text) if m.group(1).strip()]
    if lines:
        return lines[-1]
    meaningful = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("code:")]
    return meaningful[-1] if meaningful else type(error).__name__


def _translate(stack: str, error: Exception) -> BgctlError:
    if isinstance(error, auto.ConcurrentUpdateError):
        return BgctlError(
            f"another update of stack {stack} is already running; wait for it to finish "
            "(`pulumi cancel` only if it died)"
        )
    if isinstance(error, auto.StackNotFoundError):
        return BgctlError(f"no stack named {stack!r}: create it with `pulumi stack init {stack}` or pass --stack NAME")
    return BgctlError(f"pulumi failed: {cli_error(error)}")


@contextlib.contextmanager
def pulumi_errors(stack: str) -> Iterator[None]:
    """Turn the Automation API's multi-line errors into one actionable line."""
    try:
        yield
    except auto.CommandError as error:
        raise _translate(stack, error) from error
    except auto.InvalidVersionError as error:
        raise BgctlError(f"unsupported Pulumi CLI: {error}") from error


def open_stack(name: str, work_dir: Path) -> auto.Stack:
    """Select an existing stack of the project in `work_dir`; never creates one."""
    if shutil.which("pulumi") is None:
        raise BgctlError(f"the Pulumi CLI is not on PATH: {INSTALL_HINT}")
    with pulumi_errors(name):
        try:
            return auto.select_stack(stack_name=name, work_dir=str(work_dir))
        except FileNotFoundError as error:  # the CLI vanished between the check and the call
            raise BgctlError(f"the Pulumi CLI is not on PATH: {INSTALL_HINT}") from error


@dataclass
class StackView:
    """One stack and one of its apps, read through the Automation API."""

    stack: auto.Stack
    work_dir: Path
    app: str
    outputs: Mapping[str, Any]
    """The app's outputs: `apps.<app>` of the stack outputs."""
    config: dict[str, str]
    """The stack's config, every key qualified, structured values as JSON text."""
    secret_keys: frozenset[str] = frozenset()
    """The qualified keys stored with --secret."""

    @property
    def name(self) -> str:
        return self.stack.name

    @classmethod
    def load(cls, stack: auto.Stack, work_dir: Path, app: str | None) -> StackView:
        with pulumi_errors(stack.name):
            outputs = {key: value.value for key, value in stack.outputs().items()}
            every = stack.get_all_config()
            config = {key: value.value for key, value in every.items()}
            secret_keys = frozenset(key for key, value in every.items() if value.secret)
        apps = outputs.get("apps")
        if not isinstance(apps, dict) or not apps:
            raise BgctlError(f"stack {stack.name} has no app outputs yet: run `pulumi up` (make up) first")
        if app is None:
            if len(apps) > 1:
                raise BgctlError(f"stack {stack.name} has several apps ({', '.join(sorted(apps))}): pass --app NAME")
            app = next(iter(apps))
        if app not in apps:
            raise BgctlError(f"stack {stack.name} has no app {app!r}; its apps: {', '.join(sorted(apps))}")
        return cls(stack, work_dir, app, apps[app], config, secret_keys)

    def output_color(self, key: str) -> Color | None:
        return next((c for c in COLORS if self.outputs.get(key) == c), None)

    def serving_color(self) -> Color:
        """The color the active Service selects in the stack's state, else the exported activeColor."""
        with pulumi_errors(self.name):
            state = self.stack.export_stack().deployment or {}
        service = naming.service_name(self.app)
        for resource in state.get("resources") or []:
            if resource.get("type") != SERVICE_TYPE or not str(resource.get("urn", "")).endswith(f"::{service}"):
                continue
            color = naming.service_selector_color(resource.get("outputs"))
            if color in COLORS:
                return color
        color = self.output_color("activeColor")
        if color is None:
            raise BgctlError(f"cannot tell which color {self.app} serves: no Service {service} in stack {self.name}")
        return color

    def update_running(self) -> bool:
        """Whether the backend reports an update of this stack in progress.

        Only backends that track it say so (Pulumi Cloud); the file backend always says no. What stops
        a concurrent update there is the lock `up` takes, which `cutover` reports when `up` fails.
        """
        with pulumi_errors(self.name):
            summaries = self.stack.workspace.list_stacks()
        return any(s.name == self.name and s.update_in_progress for s in summaries)

    def history(self) -> list[hist.Entry]:
        """The whole stack history, newest first and numbered (the CLI returns 10 entries unless asked for more).

        Numbering by position needs every page. After HISTORY_MAX_PAGES full pages bgctl stops; entries
        without a backend version then have no number.
        """
        summaries: list[auto.UpdateSummary] = []
        for page in range(1, HISTORY_MAX_PAGES + 1):
            with pulumi_errors(self.name):
                entries = self.stack.history(page_size=HISTORY_PAGE_SIZE, page=page, show_secrets=False)
            summaries += entries
            if len(entries) < HISTORY_PAGE_SIZE:
                return hist.numbered(hist.unique(summaries))
        return hist.numbered(hist.unique(summaries), complete=False)

    def app_key(self, name: str) -> tuple[str, bool]:
        """The config key that holds this app's `name` (`activeColor`, `greenImage`), and whether it is a path."""
        index = hist.app_index(self.config, self.app)
        if index is None:
            return f"{naming.PROJECT}:{name}", False
        return f"{hist.APPS_KEY}[{index}].{name}", True

    def color_key(self) -> tuple[str, bool]:
        """The config key that holds this app's color, and whether it is a path."""
        return self.app_key(hist.ACTIVE_COLOR_KEY.split(":", 1)[1])

    def set_app_config(self, name: str, value: str) -> None:
        key, path = self.app_key(name)
        with pulumi_errors(self.name):
            self.stack.set_config(key, auto.ConfigValue(value=value), path=path)

    def set_color(self, color: Color) -> None:
        self.set_app_config(hist.ACTIVE_COLOR_KEY.split(":", 1)[1], color)

    def stack_file(self) -> Path:
        """The stack's config file, as the CLI finds it (`stackConfigDir` of Pulumi.yaml, else the project dir)."""
        project = yaml.safe_load((self.work_dir / "Pulumi.yaml").read_text()) or {}
        folder = self.work_dir / str(project.get("stackConfigDir") or "")
        short = self.name.split("/")[-1]
        for ext in (".yaml", ".yml", ".json"):
            candidate = folder / f"Pulumi.{short}{ext}"
            if candidate.exists():
                return candidate
        raise BgctlError(f"cannot find the config file of stack {self.name} (Pulumi.{short}.yaml) in {folder}")

    @contextlib.contextmanager
    def config_with(self, values: Mapping[str, str]) -> Iterator[Path]:
        """A copy of the stack's config file in which only these keys of this app differ (`activeColor`, ...).

        `preview --config-file` reads it instead of the stack's own file, so a preview never
        changes the stack's config, even if it is interrupted, and a concurrent `pulumi up` never
        sees the previewed color. Secure values and the encryption salt are copied unchanged.
        """
        source = self.stack_file()
        document = (json.loads if source.suffix == ".json" else yaml.safe_load)(source.read_text()) or {}
        config = document.setdefault("config", {})
        if hist.app_index(self.config, self.app) is None:
            config.update({f"{naming.PROJECT}:{name}": value for name, value in values.items()})
        else:
            raw = config.get(hist.APPS_KEY)
            entries = json.loads(raw) if isinstance(raw, str) else raw
            index = hist.app_index({hist.APPS_KEY: json.dumps(entries)}, self.app)
            assert index is not None
            entries[index].update(values)
            config[hist.APPS_KEY] = entries
        handle, name = tempfile.mkstemp(prefix=f"bgctl-{self.name.split('/')[-1]}-", suffix=".yaml")
        try:
            with os.fdopen(handle, "w") as file:
                yaml.safe_dump(document, file, sort_keys=False)
            yield Path(name)
        finally:
            os.unlink(name)

    def preview(self, values: Mapping[str, str], on_event: OnEvent, policy_packs: list[str], message: str = "") -> None:
        """Preview the stack with these keys of this app changed (`{"activeColor": "green"}`), config untouched."""
        with self.config_with(values) as config_file, pulumi_errors(self.name):
            self.stack.preview(
                on_event=on_event,
                config_file=str(config_file),
                color="never",
                policy_packs=policy_packs or None,
                message=message or f"bgctl preview {self.app} -> {values}",
            )

    def up(self, message: str, on_event: OnEvent, policy_packs: list[str]) -> auto.UpResult:
        """Run `up`; CLI errors propagate untranslated so the caller can say where traffic is."""
        return self.stack.up(on_event=on_event, color="never", policy_packs=policy_packs or None, message=message)
