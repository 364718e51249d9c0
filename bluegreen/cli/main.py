"""`bgctl` (or `python -m bluegreen.cli`): the operator's entry point. Every failure is one line on stderr, exit 1."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Final, NoReturn

from pulumi import automation as auto

from bluegreen import naming
from bluegreen.cli import commands, recovery
from bluegreen.cli.errors import BgctlError
from bluegreen.cli.workspace import StackView, open_stack
from bluegreen.naming import Color

DEFAULT_STACK: Final = "dev"
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
DEBUG_VAR: Final = "BGCTL_DEBUG"
TO_VERSION_HELP: Final = "the update number as `bgctl history` shows it"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line too."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"bgctl: error: {message} (see bgctl --help)\n")


class _Lines(argparse.HelpFormatter):
    """Wraps each line of a description or epilog on its own, so a command's examples stay one per line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent) for line in text.splitlines()
        )


def _color(value: str) -> Color:
    if (color := naming.as_color(value)) is None:
        raise argparse.ArgumentTypeError(f"color must be exactly blue or green, not {value!r}")
    return color


def _update_number(value: str) -> int:
    """An update number as `bgctl history` prints it (`v3`), or bare (`3`)."""
    digits = value.removeprefix("v")
    if not digits.isascii() or not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"must be {TO_VERSION_HELP} (3 or v3), not {value!r}")
    return int(digits)


PACK_FOLDER: Final = "policies"
"""The project's policy pack, relative to its directory: what a checked command runs unless told otherwise."""
COMMANDS: Final = {
    "status": (
        "active and idle color, versions, last cutovers",
        "Show which color serves, each color's version, image and replicas, and the last cutovers.",
        ("bgctl status --stack dev",),
    ),
    "history": (
        "the cutover timeline from stack history",
        "List every update of the stack with the color it left serving; rollback targets by number.",
        ("bgctl history --stack dev",),
    ),
    "preview": (
        "preview a switch to COLOR",
        "Preview a switch to COLOR without changing the stack's config; refuse anything but selector and replica "
        "changes. The project's policy pack runs unless --no-policy-pack.",
        ("bgctl preview green --stack dev",),
    ),
    "cutover": (
        "preview, confirm, then switch to COLOR",
        "Preview the switch to COLOR, ask, then pulumi up; the selector moves only after the pre-switch gate. "
        "On any failure or interrupt, the config is put back when traffic never moved.",
        ("bgctl cutover green --stack dev --yes",),
    ),
    "rollback": (
        "switch back to the color of an earlier update",
        "Switch back to the color of the newest successful earlier update that ran the other color, or of "
        "update N; only the color changes. With --now, in an emergency: no preview; once the cluster says that "
        "color's Deployment is Ready, one write of the active Service's selector moves the traffic, then pulumi up "
        "(policy pack and gate included) records it. Asks first unless --yes.",
        ("bgctl rollback --stack dev --to-version 3", "bgctl rollback --stack dev --now --yes"),
    ),
    "release": (
        "put a new version on the idle color; with --promote, cut over to it",
        "Set the idle color's image and version keys, run the policy-checked preview (only that color's pod template "
        "may change), ask, then pulumi up: the idle color rolls out while traffic stays where it is, and the preview "
        "Service reaches the new version. With --promote, then cut over to it; when the new color fails its "
        "verification window (verifySeconds), traffic goes back at once unless --no-switch-back.",
        (
            "bgctl release --image backend:1.3 --version 1.3",
            "bgctl release --image backend:1.3 --version 1.3 --promote --yes",
        ),
    ),
    "recover": (
        "finish after an update that died: its lock, then pulumi up",
        "After a pulumi up that was killed (or whose machine was lost): say where traffic is in the cluster, clear "
        "the stack's lock if its process is gone from this machine, refresh the state from the cluster, then run "
        "the checked pulumi up to the stack's config (policy pack and gate included). Asks first unless --yes.",
        ("bgctl recover --stack dev --yes",),
    ),
    "render": (
        "print the objects the stack would create, as YAML",
        "Print every Kubernetes object the stack's config describes, as YAML, with no Pulumi CLI and no cluster; "
        "bad config is refused as pulumi up would refuse it.",
        ("bgctl render --stack dev > objects.yaml",),
    ),
}


def _epilog(examples: Sequence[str]) -> str:
    """A command's examples as its help ends with them, one per line."""
    if len(examples) == 1:
        return f"example: {examples[0]}"
    return "\n".join(["examples:", *(f"  {example}" for example in examples)])


def _parser() -> argparse.ArgumentParser:
    where = _Parser(add_help=False)
    where.add_argument("--stack", default=DEFAULT_STACK, help="stack name (default: %(default)s)")
    where.add_argument(
        "--work-dir", type=Path, default=Path(), help="the Pulumi project's directory (default: the current one)"
    )
    common = _Parser(add_help=False, parents=[where])
    common.add_argument("--app", help="app name, for stacks with several apps (outputs under apps.<name>)")
    checked = _Parser(add_help=False)
    checked.add_argument(
        "--allow-changes",
        action="store_true",
        help="accept in-place changes besides selectors and replica counts (never a replace or delete)",
    )
    packs = checked.add_mutually_exclusive_group()
    packs.add_argument(
        "--policy-pack",
        action="append",
        default=[],
        help=f"run this policy pack (repeatable; default: the project's own, {PACK_FOLDER}/)",
    )
    packs.add_argument("--no-policy-pack", action="store_true", help="run no policy pack")
    parser = _Parser(prog="bgctl", description="Blue/green operations on a Pulumi stack.")
    parser.add_argument("--version", action="version", version=f"bgctl {version('bluegreen')}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, *parents: _Parser) -> argparse.ArgumentParser:
        short, description, examples = COMMANDS[name]
        return sub.add_parser(
            name,
            parents=list(parents),
            help=short,
            description=description,
            epilog=_epilog(examples),
            formatter_class=_Lines,
        )

    command("status", common)
    command("history", common)
    command("render", where)
    command("preview", common, checked).add_argument("color", type=_color, help="blue or green")
    switching = _Parser(add_help=False)
    switching.add_argument(
        "--no-switch-back",
        action="store_true",
        help="when the new color fails its verification window, only report it: traffic stays on the new color",
    )
    cut = command("cutover", common, checked, switching)
    cut.add_argument("color", type=_color, help="blue or green")
    cut.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    release = command("release", common, checked, switching)
    release.add_argument("--image", required=True, metavar="REPO:TAG", help="the new version's image, pinned")
    release.add_argument("--version", required=True, metavar="V", help="its version (a label value)")
    release.add_argument("--promote", action="store_true", help="then cut over to it")
    release.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    back = command("rollback", common, checked)
    back.add_argument(
        "--to-version",
        type=_update_number,
        metavar="N",
        help=f"return to this update: {TO_VERSION_HELP} (3 or v3); "
        "default: the newest successful update that ran the other color",
    )
    back.add_argument(
        "--now",
        action="store_true",
        help="emergency: if that color's Deployment is Ready in the cluster, write the active Service's selector "
        "at once (one API call), then pulumi up to record it; no preview",
    )
    back.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command("recover", common, checked).add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _policy_packs(args: argparse.Namespace) -> list[str]:
    """The packs a checked command runs: those named, none with --no-policy-pack, else the project's own."""
    if not hasattr(args, "policy_pack") or args.no_policy_pack:  # status, history and render check no plan
        return []
    if args.policy_pack:
        return list(args.policy_pack)
    pack = args.work_dir / PACK_FOLDER
    if not (pack / "PulumiPolicy.yaml").is_file():
        raise BgctlError(f"no policy pack at {pack}: pass --policy-pack DIR, or --no-policy-pack to run without one")
    return [str(pack)]


def _confirm(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def run(argv: Sequence[str]) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "now", False) and args.allow_changes:
        parser.error("--allow-changes checks a preview, and rollback --now runs none")
    console = commands.Console(confirm=_confirm if sys.stdin.isatty() else None)
    options = commands.Options(
        allow_changes=getattr(args, "allow_changes", False),
        yes=getattr(args, "yes", False),
        policy_packs=_policy_packs(args),
        switch_back=not getattr(args, "no_switch_back", False),
    )
    if getattr(args, "no_switch_back", False) and args.command == "release" and not args.promote:
        parser.error("--no-switch-back acts on the cutover that --promote starts")
    if args.command == "render":
        from bluegreen.cli import render  # the program and the Kubernetes SDK load only for this command

        objects = render.render(args.work_dir, args.stack)
        try:
            sys.stdout.writelines(render.as_yaml(objects))
            sys.stdout.flush()
        except BrokenPipeError:  # a reader that stopped early (`| head`) is not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    try:
        _on_stack(args, options, console)
    except BgctlError as error:
        raise _explained(args, error, loaded=True) from error.__cause__


def _explained(args: argparse.Namespace, error: BgctlError, *, loaded: bool) -> BgctlError:
    """A failure of the Pulumi CLI, with the state a killed pulumi cut named when that is why."""
    if not isinstance(error.__cause__, auto.CommandError):
        return error
    return recovery.cut_metadata_error(_file_backend(args), args.stack, error, loaded=loaded) or error


def _file_backend(args: argparse.Namespace) -> Path | None:
    """The project's file backend folder, found without reading the stack (which may be what fails)."""
    return recovery.file_backend(auto.LocalWorkspace(work_dir=str(args.work_dir)), args.stack)


def _load(args: argparse.Namespace) -> StackView:
    try:
        return StackView.load(open_stack(args.stack, args.work_dir), args.work_dir, args.app)
    except BgctlError as error:
        raise _explained(args, error, loaded=False) from None


def _on_stack(args: argparse.Namespace, options: commands.Options, console: commands.Console) -> None:
    """Run a command that reads the stack (every one but render)."""
    if args.command in ("status", "history", "preview"):
        view = _load(args)
        if args.command == "status":
            commands.status(view, console)
        elif args.command == "history":
            commands.history(view, console)
        else:
            commands.preview(view, args.color, options, console)
        return
    # One traffic-changing command per stack and project directory at a time: a second stops at once.
    with recovery.exclusive(args.work_dir, args.stack, args.command):
        if args.command == "recover":
            recovery.remove_cut_metadata(_file_backend(args), console.say)
        view = _load(args)
        if args.command == "cutover":
            commands.cutover(view, args.color, options, console)
        elif args.command == "release":
            commands.release(view, args.image, args.version, args.promote, options, console)
        elif args.command == "recover":
            commands.recover(view, options, console)
        else:
            commands.rollback(view, args.to_version, options, console, now=args.now)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        run(sys.argv[1:] if argv is None else argv)
    except BgctlError as error:
        print(f"bgctl: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("bgctl: error: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:
        if os.environ.get(DEBUG_VAR):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(
            f"bgctl: error: unexpected {type(error).__name__}: {message} (set {DEBUG_VAR}=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return 0
