"""The operator's commands: status, history, preview, cutover and rollback."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TextIO

from pulumi import automation as auto

from bluegreen import naming
from bluegreen.cli import history as hist
from bluegreen.cli.errors import BgctlError
from bluegreen.cli.plan import Kind, Plan, build_plan
from bluegreen.cli.workspace import StackView, cli_error, pulumi_errors
from bluegreen.config.stack import ConfigError, parse_stack_config
from bluegreen.naming import COLORS, Color

STATUS_CUTOVERS: Final = 5
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S UTC"
MANDATORY: Final = "mandatory"
MONITOR_GONE: Final = "Resource monitor has terminated"
"""The SDK's line when the engine stops a run under a registering program: noise after the real error."""
_HOOK_FAILED: Final = re.compile(r'^\w+ hook "[^"]*" failed: ')


@dataclass
class Options:
    allow_changes: bool = False
    yes: bool = False
    policy_packs: list[str] = field(default_factory=list)


@dataclass
class Console:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    confirm: Callable[[str], bool] | None = None
    """Asks a yes/no question; None when nobody can answer (stdin is not a terminal)."""

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)


def _time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _cutover_line(cutover: hist.Cutover) -> str:
    origin = cutover.from_color or "(first deploy)"
    number = f"v{cutover.number}" if cutover.number is not None else "v?"
    return f"{number:>5}  {_time(cutover.time)}  {origin} -> {cutover.to_color}  {cutover.result}"


def _update_label(number: int | None, start_time: datetime) -> str:
    """An update as the operator finds it in `bgctl history`: by number, else by its start time."""
    return f"update {number}" if number is not None else f"the update of {_time(start_time)}"


def _unnumbered_note(entries: list[hist.Entry], console: Console) -> None:
    reason = hist.too_long(entries)
    if reason is not None:
        console.say(f"  note: {reason} (shown as v?)")


def _stays(reason: str, before: Color, service: str) -> str:
    """Where traffic is after an `up` that failed before the switch, without repeating the reason (the gate says it)."""
    if f"traffic stays on {before}" in reason.lower():
        return f"Service {service} still selects {before}"
    return f"traffic stays on {before} (Service {service} selects {before})"


def _hook_reason(message: str) -> str:
    """An update's error without the engine's `before hook "NAME" failed: ` wrapper: this project's hooks
    (the pre-switch gate) name themselves in their message."""
    return _HOOK_FAILED.sub("", message, count=1)


def status(view: StackView, console: Console) -> None:
    serving = view.serving_color()
    configured = hist.color_of(view.config, view.app)
    console.say(f"stack {view.name}, app {view.app}")
    console.say(f"  active: {serving}   idle: {naming.other_color(serving)}")
    console.say(f"  {'color':<7}{'version':<12}{'replicas':<10}image")
    for color in COLORS:
        mark = "*" if color == serving else " "
        replicas, version = view.outputs.get(f"{color}Replicas"), view.outputs.get(f"{color}Version")
        console.say(f"  {color + mark:<7}{version!s:<12}{replicas!s:<10}{view.outputs.get(f'{color}Image')}")
    console.say(f"  service: {view.outputs.get('serviceDns')} (ClusterIP {view.outputs.get('clusterIp')})")
    console.say(f"  preview: {view.outputs.get('previewServiceName')} (selects {naming.other_color(serving)})")
    if configured is not None and configured != serving:
        console.say(f"  note: config says {configured} but {serving} serves: the next `pulumi up` switches traffic")
    console.say("last cutovers:")
    entries = view.history()
    found = hist.cutovers(entries, view.app)[:STATUS_CUTOVERS]
    for cutover in found:
        console.say(f"  {_cutover_line(cutover)}")
    if not found:
        console.say("  (none in stack history)")
    _unnumbered_note(entries, console)


def history(view: StackView, console: Console) -> None:
    entries = view.history()
    found = hist.cutovers(entries, view.app)
    console.say(f"cutovers of {view.app} on stack {view.name}, newest first:")
    for cutover in found:
        message = f"  {cutover.message}" if cutover.message else ""
        console.say(f"  {_cutover_line(cutover)}{message}")
    if not found:
        console.say("  (none in stack history)")
    _unnumbered_note(entries, console)


def _check_target(view: StackView, target: Color, console: Console) -> Color:
    """Refuse a cutover that cannot work before anything runs; return the color serving now."""
    try:
        # The whole config, other namespaces too, so a near miss (`bluegren:activeColor`) is refused here.
        settings = parse_stack_config(view.config, view.secret_keys)
    except ConfigError as error:
        raise BgctlError(f"the stack's config is invalid: {'; '.join(str(p) for p in error.problems)}") from error
    app = next((a for a in settings.apps if a.name == view.app), None)
    if app is None:
        raise BgctlError(f"app {view.app!r} is in the stack outputs but not in its config")
    serving = view.serving_color()
    if target == serving:
        raise BgctlError(f"{view.app} already serves {target} on stack {view.name}; nothing to cut over")
    replicas = app.color(target).replicas
    if replicas == 0:
        raise BgctlError(
            f"{target} is configured with 0 replicas ({naming.PROJECT}:{target}Replicas): a cutover would send "
            f"{view.app}'s traffic to no pods; set {target}Replicas first"
        )
    if view.update_running():
        raise BgctlError(f"another update of stack {view.name} is already running; wait for it to finish")
    if view.outputs.get(f"{target}Replicas") == 0:
        console.say(
            f"note: {target} runs 0 pods now; the update scales it to {replicas} and waits for its rollout "
            "before traffic moves, so this is not instant"
        )
    return serving


def _plan(view: StackView, serving: Color, target: Color, options: Options, console: Console) -> Plan:
    steps: list[auto.StepEventMetadata] = []
    violations: list[auto.PolicyEvent] = []

    def on_event(event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            steps.append(event.resource_pre_event.metadata)
        elif event.policy_event is not None:
            violations.append(event.policy_event)
            console.say(f"  policy {_violation(event.policy_event)}")

    console.say(f"previewing {view.app}: {serving} -> {target} on stack {view.name} ...")
    try:
        view.preview(target, on_event, options.policy_packs)
    except BgctlError as error:
        mandatory = [v for v in violations if v.enforcement_level == MANDATORY]
        if not mandatory:
            raise
        raise BgctlError(f"REFUSED by the policy pack: {'; '.join(_violation(v) for v in mandatory)}") from error
    plan = build_plan(view.app, serving, target, steps)
    for line in plan.summary(view.name):
        console.say(line)
    problems = plan.problems(options.allow_changes)
    if problems:
        hint = "" if options.allow_changes else " (pass --allow-changes to accept in-place changes)"
        raise BgctlError(f"REFUSED: this plan {'; '.join(problems)}{hint}")
    extra = " and other in-place changes (--allow-changes)" if plan.of(Kind.OTHER) else ""
    console.say(f"OK: the plan changes only selectors and replica counts{extra}")
    return plan


def _violation(event: auto.PolicyEvent) -> str:
    """One policy violation on one line: the policy, its level, the resource and what to change."""
    resource = (event.resource_urn or "").rsplit("::", 1)[-1] or "the stack"
    return f"{event.policy_name} ({event.enforcement_level}) on {resource}: {' '.join(event.message.split())}"


def preview(view: StackView, target: Color, options: Options, console: Console) -> None:
    serving = _check_target(view, target, console)
    _plan(view, serving, target, options, console)


@dataclass
class _Progress:
    console: Console
    errors: list[str] = field(default_factory=list)

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.op not in (auto.OpType.SAME, auto.OpType.READ):
                self.console.say(f"  ... {meta.op.value:<8} {meta.type} {meta.urn.rsplit('::', 1)[-1]}")
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.op not in (auto.OpType.SAME, auto.OpType.READ):
                self.console.say(f"  done {meta.op.value:<8} {meta.type} {meta.urn.rsplit('::', 1)[-1]}")
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.console.say(f"  FAILED {meta.op.value:<6} {meta.type} {meta.urn.rsplit('::', 1)[-1]}")
        elif event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            message = " ".join(diagnostic.message.split())
            if not message or diagnostic.ephemeral or message.startswith(MONITOR_GONE):
                return
            if diagnostic.severity == "error":
                self.errors.append(message)
                self.console.say(f"  error: {message}")
            elif diagnostic.severity in ("info", "warning"):
                # The hooks' own lines: what the pre-switch gate checked, how long the old color waits.
                self.console.say(f"  {message}")


def cutover(view: StackView, target: Color, options: Options, console: Console, reason: str = "cutover") -> None:
    serving = _check_target(view, target, console)
    _plan(view, serving, target, options, console)
    if not options.yes:
        question = f"switch {view.app} on stack {view.name} from {serving} to {target}?"
        if console.confirm is None:
            raise BgctlError("not confirmed: stdin is not a terminal, pass --yes to cut over without a prompt")
        if not console.confirm(question):
            raise BgctlError("cancelled: nothing changed")
    key, _ = view.color_key()
    progress = _Progress(console)
    with _Interrupts(console) as interrupts:
        console.say(f"setting {key} = {target} and running pulumi up ...")
        try:
            view.set_color(target)
            # Interrupted before the update started: none is started.
            result = (
                None
                if interrupts.seen
                else view.up(f"bgctl {reason} {view.app}: {serving} -> {target}", progress, options.policy_packs)
            )
        except (auto.CommandError, BgctlError) as error:
            if isinstance(error, BgctlError) and not interrupts.seen:
                raise  # `config set` itself failed: nothing ran
            raise _failed(view, serving, target, progress, error, interrupted=interrupts.seen) from error
        if result is None:
            raise _failed(view, serving, target, progress, None, interrupted=True)
    # Pulumi Cloud numbers the update; the file backend says 0, so count the history it is now the newest of.
    update = _update_label(result.summary.version or _newest_number(view), result.summary.start_time)
    console.say(f"done: {view.app} serves {target} ({update}, {result.summary.result})")
    if interrupts.seen:
        raise BgctlError(
            f"interrupted, but the update had finished: {view.app} serves {target} and the config says so; "
            "to go back: bgctl rollback"
        )


class _Interrupts:
    """While the config names the new color and `pulumi up` runs, an interrupt (Ctrl-C, SIGTERM) stops nothing
    halfway: the CLI, which the terminal interrupted too, cancels its update safely, and the cutover then ends
    through the same "where is traffic now; restore the config if it never moved" path as a failure.
    """

    SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, console: Console) -> None:
        self.console = console
        self.seen = False
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: object) -> None:
        if not self.seen:
            self.console.say(
                f"{signal.Signals(signum).name} received: waiting for pulumi to end its update, then the config is "
                "made to match where traffic is"
            )
        self.seen = True

    def __enter__(self) -> _Interrupts:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _newest_number(view: StackView) -> int | None:
    """The number of the update just made; None (its start time is shown instead) if history cannot be read now.

    The cutover has succeeded at this point: a failure to read history must never report it as failed.
    """
    try:
        entries = view.history()
    except BgctlError:
        return None
    return entries[0].number if entries else None


def _failed(
    view: StackView,
    before: Color,
    target: Color,
    progress: _Progress,
    error: Exception | None,
    *,
    interrupted: bool = False,
) -> BgctlError:
    """Say where traffic is after a failed (or interrupted) `up`, and put the config back when traffic never moved.

    `error` is None when an interrupt came before the update started."""
    if isinstance(error, auto.ConcurrentUpdateError):
        view.set_color(before)
        return BgctlError(
            f"another update of stack {view.name} is already running; nothing changed, config restored to {before}"
        )
    if interrupted or error is None:
        reason = "interrupted"
    else:
        reason = _hook_reason(progress.errors[0] if progress.errors else cli_error(error))
    try:
        now = view.serving_color()
    except BgctlError:
        return BgctlError(f"cutover to {target} failed: {reason}; could not read which color serves now")
    service = naming.service_name(view.app)
    if now == before:
        with pulumi_errors(view.name):
            view.set_color(before)
        return BgctlError(
            f"cutover to {target} failed: {reason}; {_stays(reason, before, service)}; config restored to {before}"
        )
    return BgctlError(
        f"cutover to {target} failed after the switch: {reason}; traffic is on {now} (Service {service} selects "
        f"{now}); rerun `cutover {target}` to finish, or `rollback`"
    )


def rollback(view: StackView, to_number: int | None, options: Options, console: Console) -> None:
    serving = view.serving_color()
    entry, color = hist.rollback_target(view.history(), view.app, serving, to_number)
    summary = entry.summary
    message = f' "{summary.message}"' if summary.message else ""
    label = f"update v{entry.number} of" if entry.number is not None else "update of"
    console.say(
        f"rollback target: {label} {_time(summary.start_time)} ({summary.result}){message} "
        f"ran {view.app} on {color}; {serving} serves now"
    )
    console.say("only the color changes: images, versions and replicas stay as configured now")
    to = f"v{entry.number}" if entry.number is not None else _update_label(None, summary.start_time)
    cutover(view, color, options, console, reason=f"rollback to {to}")
