"""`bgctl` (or `python -m bluegreen.cli`): the operator's entry point. Every failure is one line on stderr, exit 1."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NoReturn

from bluegreen import naming
from bluegreen.cli import commands
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


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--stack", default=DEFAULT_STACK, help="stack name (default: %(default)s)")
    common.add_argument("--app", help="app name, for stacks with several apps (outputs under apps.<name>)")
    common.add_argument(
        "--work-dir", type=Path, default=Path(), help="the Pulumi project's directory (default: the current one)"
    )
    checked = _Parser(add_help=False)
    checked.add_argument(
        "--allow-changes",
        action="store_true",
        help="accept in-place changes besides selectors and replica counts (never a replace or delete)",
    )
    checked.add_argument("--policy-pack", action="append", default=[], help="run this policy pack too (repeatable)")
    parser = _Parser(prog="bgctl", description="Blue/green operations on a Pulumi stack.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("status", parents=[common], help="active and idle color, versions, last cutovers")
    sub.add_parser("history", parents=[common], help="the cutover timeline from stack history")
    preview = sub.add_parser("preview", parents=[common, checked], help="preview a switch to COLOR")
    preview.add_argument("color", type=_color, help="blue or green")
    cut = sub.add_parser("cutover", parents=[common, checked], help="preview, confirm, then switch to COLOR")
    cut.add_argument("color", type=_color, help="blue or green")
    cut.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    back = sub.add_parser("rollback", parents=[common, checked], help="switch back to the color of an earlier update")
    back.add_argument(
        "--to-version",
        type=_update_number,
        metavar="N",
        help=f"return to this update: {TO_VERSION_HELP} (3 or v3); "
        "default: the newest successful update that ran the other color",
    )
    back.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _confirm(question: str) -> bool:
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def run(argv: Sequence[str]) -> None:
    args = _parser().parse_args(argv)
    console = commands.Console(confirm=_confirm if sys.stdin.isatty() else None)
    options = commands.Options(
        allow_changes=getattr(args, "allow_changes", False),
        yes=getattr(args, "yes", False),
        policy_packs=getattr(args, "policy_pack", []),
    )
    view = StackView.load(open_stack(args.stack, args.work_dir), args.work_dir, args.app)
    if args.command == "status":
        commands.status(view, console)
    elif args.command == "history":
        commands.history(view, console)
    elif args.command == "preview":
        commands.preview(view, args.color, options, console)
    elif args.command == "cutover":
        commands.cutover(view, args.color, options, console)
    else:
        commands.rollback(view, args.to_version, options, console)


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
