"""The operator's commands: status, history, preview, cutover and rollback."""

from __future__ import annotations

import contextlib
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from pulumi import automation as auto

from bluegreen import naming
from bluegreen.cli import history as hist
from bluegreen.cli import recovery
from bluegreen.cli.errors import BgctlError
from bluegreen.cli.plan import Kind, Plan, build_plan, release_problems
from bluegreen.cli.workspace import StackView, cli_error, pulumi_errors
from bluegreen.config import grammar
from bluegreen.config.model import AppSettings, Settings
from bluegreen.config.stack import ConfigError, parse_stack_config
from bluegreen.naming import COLORS, Color

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

STATUS_CUTOVERS: Final = 5
TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S UTC"
MANDATORY: Final = "mandatory"
MONITOR_GONE: Final = "Resource monitor has terminated"
"""The SDK's line when the engine stops a run under a registering program: noise after the real error."""
CANCELED: Final = "context canceled"
"""The engine's line for the work it stops after a failed step or hook (seen after a failed window): noise."""
_HOOK_FAILED: Final = re.compile(r'^\w+ hook "[^"]*" failed: ')
_VERIFICATION_FAILED: Final = re.compile(r"^verification of (blue|green) \([^)]*\) failed")
"""How the verification window's failure starts (bluegreen/app/verify.py, Window.line)."""
ACTIVE_COLOR: Final = "activeColor"


@dataclass
class Options:
    allow_changes: bool = False
    yes: bool = False
    policy_packs: list[str] = field(default_factory=list)
    switch_back: bool = True
    """When the new color fails its verification window, move traffic back to the old one at once."""


@dataclass
class Console:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    confirm: Callable[[str], bool] | None = None
    """Asks a yes/no question; None when nobody can answer (stdin is not a terminal)."""

    def say(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)


def _ask(console: Console, question: str, doing: str) -> None:
    """Go on only once the operator said yes; `doing` names the command in the hint to pass --yes."""
    if console.confirm is None:
        raise BgctlError(f"not confirmed: stdin is not a terminal, pass --yes to {doing} without a prompt")
    if not console.confirm(question):
        raise BgctlError("cancelled: nothing changed")


def _time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _cutover_line(cutover: hist.Cutover, verification: str = "") -> str:
    origin = cutover.from_color or "(first deploy)"
    number = f"v{cutover.number}" if cutover.number is not None else "v?"
    outcome = f"{cutover.result}, {verification}" if verification else cutover.result
    return f"{number:>5}  {_time(cutover.time)}  {origin} -> {cutover.to_color}  {outcome}"


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
    idle = naming.other_color(serving)
    entries = view.history()
    if not hist.served(entries, view.app, idle, str(view.outputs.get(f"{idle}Version"))):
        console.say(f"  release: {_release_state(view, idle)}")
    interrupted = recovery.interruption(view)
    if interrupted is not None:
        console.say(f"  interrupted: {interrupted.line(view.name)}")
        console.say(f"  {_traffic_in_cluster(view, serving, configured)}")
        console.say(f"  recover with: make recover (or: bgctl recover --stack {view.name} --yes)")
    elif configured is not None and configured != serving:
        console.say(f"  note: config says {configured} but {serving} serves: the next `pulumi up` switches traffic")
    console.say("last cutovers:")
    found = hist.with_verification(hist.cutovers(entries, view.app))[:STATUS_CUTOVERS]
    for cutover, verification in found:
        console.say(f"  {_cutover_line(cutover, verification)}")
    if not found:
        console.say("  (none in stack history)")
    _unnumbered_note(entries, console)


def _release_state(view: StackView, idle: Color) -> str:
    """Whether the idle color's other version can take the traffic now, read from its Deployment in the cluster."""
    from bluegreen.cli import cluster  # the Kubernetes client loads only when the idle color runs another version

    version = view.outputs.get(f"{idle}Version")
    try:
        namespace = parse_stack_config(view.config, view.secret_keys).namespace
        with cluster.connect(cluster.access(view.config)) as api:
            rollout = cluster.read_rollout(api, namespace, view.app, idle)
    except (BgctlError, ConfigError) as error:
        return f"{idle} runs {version}: could not read the cluster ({' '.join(str(error).split())[:200]})"
    if rollout.scaled_to_zero:
        return f"{idle} is set to {version} but runs no pods (idleReplicas 0): a cutover scales it up first"
    if (why := rollout.unready()) is not None:
        return f"{idle} runs {version}: not ready yet ({why})"
    return (
        f"{idle} runs {version}, {rollout.available} of {rollout.desired} pod(s) Available: ready to promote "
        f"(make cutover COLOR={idle})"
    )


def _traffic_in_cluster(view: StackView, recorded: Color, configured: Color | None) -> str:
    """Where traffic is, read from the cluster: after a dead update the stack's state may not know."""
    from bluegreen.cli import cluster  # the Kubernetes client loads only when an update died

    said = f"the stack's state says {recorded}; the config says {configured or 'nothing'}"
    try:
        namespace = parse_stack_config(view.config, view.secret_keys).namespace
        with cluster.connect(cluster.access(view.config)) as api:
            color = cluster.selected_color(api, namespace, view.app)
            if color not in COLORS:
                return f"traffic: the cluster did not say which color Service {namespace}/{view.app} selects ({said})"
            rollout = cluster.read_rollout(api, namespace, view.app, color)
    except (BgctlError, ConfigError) as error:
        return f"traffic: could not read the cluster ({' '.join(str(error).split())[:200]}; {said})"
    return (
        f"traffic is on {color}: Service {namespace}/{view.app} selects it in the cluster, {rollout.ready} of "
        f"{rollout.desired} pod(s) ready ({said})"
    )


def recover(view: StackView, options: Options, console: Console) -> None:
    """Clear a dead update's lock, refresh the state from the cluster, then `pulumi up` to the config."""
    configured = hist.color_of(view.config, view.app)
    running = recovery.running_update(view)
    if running is not None:
        elsewhere = (
            "" if running.here else f"; if it is gone from {running.host}, run: pulumi cancel --stack {view.name}"
        )
        raise BgctlError(f"an update of stack {view.name} is running: {running.describe()}{elsewhere}; nothing changed")
    interrupted = recovery.interruption(view)
    if interrupted is not None:
        console.say(f"{interrupted.line(view.name)}")
        console.say(_traffic_in_cluster(view, view.serving_color(), configured))
    else:
        console.say(f"no interrupted update of stack {view.name}: bringing it to its config")
    if not options.yes:
        question = (
            f"refresh stack {view.name} from the cluster, then pulumi up to its config ({view.app}: {configured})?"
        )
        _ask(console, question, "recover")
    progress = _Progress(console)
    stopping = "pulumi ends its step safely; run bgctl recover again afterwards"
    with _Interrupts(console, stopping), pulumi_errors(view.name):
        if interrupted is not None and interrupted.locks:
            console.say("clearing the dead update's lock (pulumi cancel) ...")
            view.stack.cancel()
        console.say("refreshing the stack's state from the cluster (pulumi refresh) ...")
        view.stack.refresh(clear_pending_creates=True, color="never", message=f"bgctl recover {view.app}")
        console.say(f"running pulumi up to the config ({view.app}: {configured}) ...")
        result = view.up(f"bgctl recover {view.app}", progress, list(options.policy_packs))
    update = _update_label(result.summary.version or _newest_number(view), result.summary.start_time)
    console.say(
        f"done: {view.app} serves {view.serving_color()} as the config says ({update}, {result.summary.result})"
    )


def history(view: StackView, console: Console) -> None:
    entries = view.history()
    found = hist.with_verification(hist.cutovers(entries, view.app))
    console.say(f"cutovers of {view.app} on stack {view.name}, newest first:")
    for cutover, verification in found:
        message = f"  {cutover.message}" if cutover.message else ""
        console.say(f"  {_cutover_line(cutover, verification)}{message}")
    if not found:
        console.say("  (none in stack history)")
    _unnumbered_note(entries, console)


def _checked_app(view: StackView, serving: Color, target: Color) -> tuple[Settings, AppSettings]:
    """Refuse a switch from `serving` to `target` that cannot work, before anything runs; return the stack's
    settings and the app's."""
    try:
        # The whole config, other namespaces too, so a near miss (`bluegren:activeColor`) is refused here.
        settings = parse_stack_config(view.config, view.secret_keys)
    except ConfigError as error:
        raise BgctlError(f"the stack's config is invalid: {'; '.join(str(p) for p in error.problems)}") from error
    app = next((a for a in settings.apps if a.name == view.app), None)
    if app is None:
        raise BgctlError(f"app {view.app!r} is in the stack outputs but not in its config")
    if target == serving:
        raise BgctlError(f"{view.app} already serves {target} on stack {view.name}; nothing to cut over")
    if app.color(target).replicas == 0:
        raise BgctlError(
            f"{target} is configured with 0 replicas ({naming.PROJECT}:{target}Replicas): a cutover would send "
            f"{view.app}'s traffic to no pods; set {target}Replicas first"
        )
    if view.update_running():
        raise BgctlError(f"another update of stack {view.name} is already running; wait for it to finish")
    return settings, app


def _check_target(view: StackView, target: Color, console: Console) -> Color:
    """Refuse a cutover that cannot work before anything runs; return the color serving now."""
    serving = view.serving_color()
    _, app = _checked_app(view, serving, target)
    if view.outputs.get(f"{target}Replicas") == 0:
        console.say(
            f"note: {target} runs 0 pods now; the update scales it to {app.color(target).replicas} and waits for its "
            "rollout before traffic moves, so this is not instant"
        )
    return serving


def _plan(view: StackView, serving: Color, target: Color, options: Options, console: Console) -> Plan:
    console.say(f"previewing {view.app}: {serving} -> {target} on stack {view.name} ...")
    steps = _checked_preview(view, {ACTIVE_COLOR: target}, options, console, f"bgctl preview {view.app} -> {target}")
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


def _checked_preview(
    view: StackView, values: dict[str, str], options: Options, console: Console, message: str
) -> list[auto.StepEventMetadata]:
    """Preview the stack with these keys of the app changed, through the policy packs; its steps, or the refusal
    of a mandatory policy. Each violation is said as it is found."""
    steps: list[auto.StepEventMetadata] = []
    violations: list[auto.PolicyEvent] = []

    def on_event(event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            steps.append(event.resource_pre_event.metadata)
        elif event.policy_event is not None:
            violations.append(event.policy_event)
            console.say(f"  policy {_violation(event.policy_event)}")

    try:
        view.preview(values, on_event, options.policy_packs, message)
    except BgctlError as error:
        mandatory = [v for v in violations if v.enforcement_level == MANDATORY]
        if not mandatory:
            raise
        raise BgctlError(f"REFUSED by the policy pack: {'; '.join(_violation(v) for v in mandatory)}") from error
    return steps


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
    on_verification_failed: Callable[[str], None] | None = None
    """Called with the failure the moment the engine reports a failed verification window."""

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
        elif event.policy_event is not None:
            # An update checks its plan too: after `rollback --now`, which runs no preview, this is where it happens.
            violation = _violation(event.policy_event)
            self.console.say(f"  policy {violation}")
            if event.policy_event.enforcement_level == MANDATORY:
                self.errors.append(f"REFUSED by the policy pack: {violation}")
        elif event.diagnostic_event is not None:
            diagnostic = event.diagnostic_event
            message = " ".join(diagnostic.message.split())
            if not message or diagnostic.ephemeral or message.startswith(MONITOR_GONE):
                return
            if self.errors and message == CANCELED:
                return  # the engine stopping its other work after the real error
            if diagnostic.severity == "error":
                self.errors.append(message)
                self.console.say(f"  error: {message}")
                verification = _verification_failure(_hook_reason(message))
                if verification is not None and self.on_verification_failed is not None:
                    self.on_verification_failed(verification)
            elif diagnostic.severity in ("info", "warning"):
                # The hooks' own lines: what the pre-switch gate checked, how long the old color waits.
                self.console.say(f"  {message}")


def cutover(view: StackView, target: Color, options: Options, console: Console, reason: str = "cutover") -> None:
    serving = _check_target(view, target, console)
    _plan(view, serving, target, options, console)
    if not options.yes:
        question = f"switch {view.app} on stack {view.name} from {serving} to {target}?"
        _ask(console, question, "cut over")
    key, _ = view.color_key()
    back = _switch_back(view, serving, target, options, console)
    progress = _Progress(console, on_verification_failed=back)
    with contextlib.ExitStack() as connected, _Interrupts(console) as interrupts:
        if back is not None:
            back.connect(connected)
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
            raise _failed(view, serving, target, progress, error, options, back, interrupted=interrupts.seen) from error
        if result is None:
            raise _failed(view, serving, target, progress, None, options, back, interrupted=True)
    _finished(view, target, result, interrupts, console)


def _finished(view: StackView, target: Color, result: auto.UpResult, interrupts: _Interrupts, console: Console) -> None:
    """Say which update put `target` in service; an interrupt that came too late to stop it is still an error."""
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

    CUTOVER: Final = "waiting for pulumi to end its update, then the config is made to match where traffic is"

    def __init__(self, console: Console, what_happens: str = CUTOVER) -> None:
        self.console = console
        self.what_happens = what_happens
        self.seen = False
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: object) -> None:
        if not self.seen:
            self.console.say(f"{signal.Signals(signum).name} received: {self.what_happens}")
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
    options: Options,
    back: _SwitchBack | None,
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
    if back is not None and back.failed_at is not None:
        return back.record(options)  # the window failed after the switch, and bgctl has moved traffic back
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
    verification = _verification_failure(reason)
    if verification is not None and now == target:
        return BgctlError(
            f"{verification}; traffic is on {target} (Service {service} selects it) and {before} still runs: switch "
            f"back with: bgctl rollback --now --stack {view.name} --app {view.app} --yes"
        )
    return BgctlError(
        f"cutover to {target} failed after the switch: {reason}; traffic is on {now} (Service {service} selects "
        f"{now}); rerun `cutover {target}` to finish, or `rollback`"
    )


def _verification_failure(reason: str) -> str | None:
    """The verification window's failure without the hook's advice (bgctl acts on it), or None for another error."""
    if _VERIFICATION_FAILED.match(reason) is None:
        return None
    return reason.split(". Traffic IS on ", 1)[0]


def _switch_back(
    view: StackView, serving: Color, target: Color, options: Options, console: Console
) -> _SwitchBack | None:
    """What moves traffic back should the new color fail its verification window; None when nothing would."""
    settings = parse_stack_config(view.config, view.secret_keys)
    app = next((a for a in settings.apps if a.name == view.app), None)
    if not options.switch_back or app is None or not app.verify_seconds or not settings.pre_switch_gate:
        return None
    switch = _Switch(settings.namespace, view.app, target, serving)
    return _SwitchBack(view, switch, console, version=app.color(target).version)


@dataclass
class _SwitchBack:
    """After a failed verification window, traffic goes back to the previous color the moment the engine reports the
    failure, while pulumi still winds its update down: the guards of `rollback --now` (the previous color's
    Deployment Ready in the cluster), one write of the selector, then the recorded `pulumi up` once pulumi is done."""

    view: StackView
    switch: _Switch
    """From the color that failed (`serving`) back to the previous one (`target`)."""
    console: Console
    failed_at: datetime | None = None
    """When the failure reached bgctl; None while none did."""
    moved: datetime | None = None
    error: BgctlError | None = None
    verification: str = ""
    version: str = ""
    """What the failed color runs."""
    api: ApiClient | None = None
    """Made before the update starts: the client's import and set-up cost no time once the window failed."""

    def connect(self, stack: contextlib.ExitStack) -> None:
        from bluegreen.cli import cluster  # the Kubernetes client loads only when a window may fail

        try:
            self.api = stack.enter_context(cluster.connect(cluster.access(self.view.config)))
        except BgctlError as error:
            self.error = error  # said if the window fails: the switch back could not be made
            return
        # Both reads of the switch back once now: the connection is open and the client has built its types
        # (a new client's first calls are the slow ones), so the switch back itself is two quick calls.
        with contextlib.suppress(BgctlError):
            cluster.read_rollout(self.api, self.switch.namespace, self.switch.app, self.switch.target)
        cluster.selected_color(self.api, self.switch.namespace, self.switch.app)

    def __call__(self, verification: str) -> None:
        if self.failed_at is not None:
            return
        self.failed_at, self.verification = utc_now(), verification
        self.console.say(f"switching back to {self.switch.target} ...")
        if self.api is None:
            return
        try:
            _ready_to_serve(self.api, self.switch, None, None)
            _write_selector(self.api, self.switch)
        except BgctlError as error:
            self.error = error
            return
        except Exception as error:  # this runs on the engine's event thread: nothing may escape it
            self.error = BgctlError(f"unexpected {type(error).__name__}: {' '.join(str(error).split())[:200]}")
            return
        self.moved = utc_now()
        self.console.say(
            f"switched back: Service {self.switch.service} selects {self.switch.target} at {_moment(self.moved)}, "
            f"{(self.moved - self.failed_at).total_seconds():.2f}s after the failure reached bgctl"
        )

    def record(self, options: Options) -> BgctlError:
        """Once pulumi is done: the config back on the previous color and the `pulumi up` that records the switch
        back; the error the command ends with, which says what failed and what was done."""
        view, switch, verification = self.view, self.switch, self.verification
        if self.moved is None or self.failed_at is None:
            manual = f"bgctl rollback --now --stack {view.name} --app {view.app} --yes"
            return BgctlError(
                f"{verification}; could not switch back: {self.error}; traffic is on {switch.serving}: run {manual}"
            )
        with _Interrupts(self.console, _NOW_INTERRUPTED) as interrupts:
            _bring_in_line(view, switch, self.moved, options, self.console, interrupts, hist.SWITCH_BACK, verification)
        seconds = (self.moved - self.failed_at).total_seconds()
        return BgctlError(
            f"{verification}; switched back: traffic is on {switch.target} since {_moment(self.moved, with_date=False)}"
            f" ({seconds:.2f}s after the failure reached bgctl) and the config says {switch.target}; {switch.serving} "
            f"still runs {self.version} behind the preview Service, its pods replaced so that no client stays on it"
        )


def rollback(view: StackView, to_number: int | None, options: Options, console: Console, *, now: bool = False) -> None:
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
    if now:
        _rollback_now(view, serving, color, options, console, reason=f"rollback --now to {to}")
    else:
        cutover(view, color, options, console, reason=f"rollback to {to}")


def utc_now() -> datetime:
    """The clock of "traffic moved at": the operator's own, to the millisecond."""
    return datetime.now(UTC)


def _moment(when: datetime, with_date: bool = True) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S}"[0 if with_date else 11 :] + f".{when.microsecond // 1000:03d} UTC"


@dataclass(frozen=True)
class _Switch:
    """The switch `rollback --now` writes itself: one app's active Service, from the color serving to `target`."""

    namespace: str
    app: str
    serving: Color
    target: Color

    @property
    def service(self) -> str:
        return f"{self.namespace}/{naming.service_name(self.app)}"


_NOW_INTERRUPTED: Final = (
    "nothing new starts; pulumi ends its update if one runs, and the config is made to match where traffic is"
)


def _rollback_now(
    view: StackView, serving: Color, target: Color, options: Options, console: Console, reason: str
) -> None:
    """The emergency path: the previous color, Ready in the cluster, gets the traffic through one write of the
    active Service's selector; then config and state are brought in line through the normal `pulumi up`."""
    from bluegreen.cli import cluster  # the Kubernetes client loads for this command only

    settings, app = _checked_app(view, serving, target)
    switch = _Switch(settings.namespace, view.app, serving, target)
    with cluster.connect(cluster.access(view.config)) as api:
        _ready_to_serve(api, switch, app, console)
        if not options.yes:
            question = (
                f"move {view.app}'s traffic on stack {view.name} from {serving} to {target} now "
                f"(Service {switch.service} first, then pulumi up)?"
            )
            _ask(console, question, "switch")
            _ready_to_serve(api, switch, app, None)  # again: the answer may have taken a while
        with _Interrupts(console, _NOW_INTERRUPTED) as interrupts:
            _write_selector(api, switch)
            moved = utc_now()
            console.say(f"traffic moved: Service {switch.service} selects {target} at {_moment(moved)}")
            _bring_in_line(view, switch, moved, options, console, interrupts, reason)


def _ready_to_serve(api: ApiClient, switch: _Switch, app: AppSettings | None, console: Console | None) -> None:
    """Read the target color's Deployment; refuse unless it can take all traffic this instant."""
    from bluegreen.cli import cluster

    target = switch.target
    rollout = cluster.read_rollout(api, switch.namespace, switch.app, target)
    if rollout.scaled_to_zero:
        raise BgctlError(
            f"{target} cannot take traffic at once: Deployment {rollout.name} is scaled to 0 replicas; use "
            "`bgctl rollback` without --now, which scales it up first; nothing changed"
        )
    if (why := rollout.unready()) is not None:
        raise BgctlError(f"{target} cannot take traffic at once: {why}; nothing changed")
    if app is None or console is None:
        return
    configured = app.color(target).replicas
    if rollout.desired < configured:
        console.say(
            f"note: {target} runs {rollout.desired} of its {configured} configured replicas; it takes all traffic "
            f"now, and the pulumi up that follows scales it to {configured}"
        )


def _write_selector(api: ApiClient, switch: _Switch) -> None:
    """The one write: the active Service's selector color. Returns once the Service is known to select the target."""
    from bluegreen.cli import cluster

    try:
        cluster.select(api, switch.namespace, switch.app, switch.target)
    except cluster.SelectorNotWritten as error:
        raise BgctlError(f"{error}; nothing changed, {switch.serving} serves") from error
    except cluster.SelectorUnknown as error:
        # Which color the Service selects now settles it (a read).
        selected = cluster.selected_color(api, switch.namespace, switch.app)
        if selected == switch.serving:
            raise BgctlError(f"{error}; Service {switch.service} still selects {selected}: nothing changed") from error
        if selected != switch.target:
            raise BgctlError(
                f"{error}; which color Service {switch.service} selects now is unknown: look with `kubectl "
                f"--namespace {switch.namespace} get service {naming.service_name(switch.app)} "
                "-o jsonpath={.spec.selector.color}`"
            ) from error


def _bring_in_line(
    view: StackView,
    switch: _Switch,
    moved: datetime,
    options: Options,
    console: Console,
    interrupts: _Interrupts,
    reason: str,
    why: str = "",
) -> None:
    """The config names the target and `pulumi up` (policy packs and gate included) records the switch.

    Traffic is on the target whatever happens here, so a failure never puts the config back: it says where traffic
    is, what the config says, and the one command that brings the stack in line."""
    key, _ = view.color_key()
    target = switch.target

    def half_done(what: str, configured: Color | None) -> BgctlError:
        ran = reason if reason == hist.SWITCH_BACK else "rollback --now"
        return _half_done(view, switch, moved, what, options, configured, ran)

    console.say(f"setting {key} = {target} and running pulumi up, which finds the selector already written ...")
    try:
        view.set_color(target)
    except BgctlError as error:
        what = "interrupted" if interrupts.seen else str(error)
        raise half_done(f"setting {key} failed: {what}", _configured_color(view)) from error
    if interrupts.seen:  # no update is started once interrupted
        raise half_done("interrupted before pulumi up", target)
    progress = _Progress(console)
    try:
        message = f"bgctl {reason} {view.app}: {switch.serving} -> {target}" + (f" ({why})" if why else "")
        result = view.up(message, progress, options.policy_packs)
    except auto.CommandError as error:
        said = progress.errors[0] if progress.errors else cli_error(error)
        raise half_done(
            f"pulumi up failed: {'interrupted' if interrupts.seen else _hook_reason(said)}", target
        ) from error
    _finished(view, target, result, interrupts, console)


def _half_done(
    view: StackView,
    switch: _Switch,
    moved: datetime,
    what: str,
    options: Options,
    configured: Color | None,
    what_ran: str,
) -> BgctlError:
    """Traffic moved but the stack does not record it yet: where traffic is, what the config says (None: unknown),
    and the one command line that brings the stack in line, run as bgctl ran its own `up`."""
    target = switch.target
    says = f"the config says {configured}" if configured else "what the config says could not be read"
    where = ["--stack", view.name, *(["--cwd", str(view.work_dir)] if view.work_dir != Path() else [])]
    packs = [arg for pack in options.policy_packs for arg in ("--policy-pack", pack)]
    command = shlex.join(["pulumi", "up", *where, *packs])
    if configured != target:
        key, path = view.color_key()
        setting = shlex.join(["pulumi", "config", "set", *(["--path"] if path else []), key, target, *where])
        command = f"{setting} && {command}"
    return BgctlError(
        f"{what_ran} half done: traffic IS on {target} (Service {switch.service} selects it since "
        f"{_moment(moved, with_date=False)}), but {what}; {says}; to bring the stack in line run: {command}"
    )


def _configured_color(view: StackView) -> Color | None:
    """The app's color in the stack's config as the CLI reads it now; None when it cannot be read."""
    try:
        with pulumi_errors(view.name):
            config = {key: value.value for key, value in view.stack.get_all_config().items()}
    except BgctlError:
        return None
    return hist.color_of(config, view.app)


def _settled(view: StackView, serving: Color) -> tuple[Settings, AppSettings]:
    """The app's settings, once nothing is half done: config and state agree on the serving color, no update died."""
    configured = hist.color_of(view.config, view.app)
    if recovery.interruption(view) is not None:
        raise BgctlError(
            f"the last update of stack {view.name} did not finish, so which color is idle is not known; run "
            f"`bgctl recover --stack {view.name}` (make recover) first; nothing changed"
        )
    if configured != serving:
        key, path = view.color_key()
        put_back = shlex.join(["pulumi", "config", "set", *(["--path"] if path else []), key, serving])
        raise BgctlError(
            f"{naming.other_color(serving)} is not idle: the config says {view.app} serves {configured} but "
            f"{serving} serves (a cutover half done); finish it with `bgctl cutover {configured}`, or put the config "
            f"back with `{put_back}`; nothing changed"
        )
    return _checked_app(view, serving, naming.other_color(serving))


def release(view: StackView, image: str, version: str, promote: bool, options: Options, console: Console) -> None:
    """Put `image` at `version` on the idle color (traffic untouched), show where to reach it, and with `promote`
    cut over to it (verification window and switch back included)."""
    serving = view.serving_color()
    idle = naming.other_color(serving)
    for flag, value, check in (
        ("--image", image, grammar.image_reference),
        ("--version", version, grammar.label_value),
    ):
        if (why := check(value)) is not None:
            raise BgctlError(f"{flag} {value!r} {why}; nothing changed")
    settings, app = _settled(view, serving)
    live = app.color(serving)
    if version == live.version:
        raise BgctlError(
            f"version {version} already serves: {serving} runs it ({live.image}); release another version to "
            f"{idle}; nothing changed"
        )
    if app.idle_replicas == 0:
        key, path = view.app_key("idleReplicas")
        give = shlex.join(["pulumi", "config", "set", *(["--path"] if path else []), key, "1"])
        raise BgctlError(
            f"{idle} runs no pods (idleReplicas is 0), so the release could not be checked before the switch; give it "
            f"pods with `{give}` (or remove the key), then release again; nothing changed"
        )
    image_key, version_key = f"{idle}Image", f"{idle}Version"
    current = app.color(idle)
    if (current.image, current.version) == (image, version):
        console.say(f"{idle} already runs {image} as version {version}: nothing to roll out")
    else:
        _roll_out_idle(view, serving, idle, {image_key: image, version_key: version}, options, console)
    namespace = settings.namespace
    _wait_rolled_out(view, namespace, idle, console)
    preview_service = naming.preview_service_name(view.app)
    console.say(
        f"{idle} runs {version}; traffic stays on {serving} ({live.version}). Reach {version} through the preview "
        f"Service: http://{preview_service}.{namespace}.svc.cluster.local/ in the cluster, or "
        f"`kubectl --namespace {namespace} port-forward service/{preview_service} 8080:{app.service_port}` and "
        "http://127.0.0.1:8080/"
    )
    if not promote:
        console.say(
            f"promote it with: bgctl cutover {idle} --stack {view.name} --app {view.app} (make cutover COLOR={idle})"
        )
        return
    fresh = StackView.load(view.stack, view.work_dir, view.app)
    cutover(fresh, idle, options, console, reason=f"release {version}")


ROLLOUT_WAIT_SECONDS: Final = 300.0
ROLLOUT_POLL_SECONDS: Final = 1.0


def _wait_rolled_out(
    view: StackView, namespace: str, idle: Color, console: Console, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Until the idle color is fully rolled out in the cluster: `pulumi up` can return while its last old pods are
    still being replaced (seen with the real provider), and the new version is reached only once they are."""
    from bluegreen.cli import cluster  # the Kubernetes client loads for a release only

    deadline = time.monotonic() + ROLLOUT_WAIT_SECONDS
    said = ""
    with cluster.connect(cluster.access(view.config)) as api:
        while (why := cluster.read_rollout(api, namespace, view.app, idle).unready()) is not None:
            if why != said:
                console.say(f"waiting for {idle} to finish rolling out: {why}")
                said = why
            if time.monotonic() > deadline:
                raise BgctlError(
                    f"{idle} did not finish rolling out within {ROLLOUT_WAIT_SECONDS:.0f}s: {why}; traffic stays on "
                    f"{naming.other_color(idle)}; look with `kubectl --namespace {namespace} rollout status "
                    f"deployment/{naming.deployment_name(view.app, idle)}`"
                )
            sleep(ROLLOUT_POLL_SECONDS)


def _roll_out_idle(
    view: StackView, serving: Color, idle: Color, values: dict[str, str], options: Options, console: Console
) -> None:
    """The release's checked preview (only the idle color's pod template may change), the question, then
    `pulumi up` with the new keys; traffic never moves."""
    changes = ", ".join(f"{key} = {value}" for key, value in values.items())
    console.say(f"previewing the release of {view.app} to {idle} ({changes}) on stack {view.name} ...")
    steps = _checked_preview(view, values, options, console, f"bgctl release preview {view.app} -> {idle}")
    lines, problems = release_problems(view.app, idle, steps)
    console.say(f"Release plan for {view.app} on stack {view.name}: {idle}'s pod template")
    for line in lines or ["    (no change)"]:
        console.say(line)
    if problems:
        raise BgctlError(f"REFUSED: this release {'; '.join(problems)}; nothing changed")
    console.say(f"OK: only {idle}'s pod template changes; traffic stays on {serving}")
    if not options.yes:
        question = f"roll out {changes} on {idle} (stack {view.name})? traffic stays on {serving}"
        _ask(console, question, "release")
    progress = _Progress(console)
    stopping = f"pulumi ends its step safely; traffic stays on {serving}"
    with _Interrupts(console, stopping):
        for name, value in values.items():
            console.say(f"setting {view.app_key(name)[0]} = {value}")
            view.set_app_config(name, value)
        console.say(f"running pulumi up: {idle} rolls out, traffic stays on {serving} ...")
        try:
            view.up(f"bgctl release {view.app} {values[f'{idle}Version']} to {idle}", progress, options.policy_packs)
        except auto.CommandError as error:
            reason = _hook_reason(progress.errors[0] if progress.errors else cli_error(error))
            raise BgctlError(
                f"release to {idle} failed: {reason}; traffic stays on {serving}, untouched; the config names "
                f"{changes}: fix it and release again"
            ) from error
