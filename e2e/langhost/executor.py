"""Runs one Pulumi Python program for the launcher, in the program's own virtualenv.

Started as `<venv>/bin/python -P -u executor.py --monitor ADDR --engine ADDR --project P --root_directory DIR
--stack S --pwd DIR --dry_run true|false --parallel N [--organization O] PROGRAM [ARGS...]`, with the stack's
config in PULUMI_CONFIG (a JSON object) and its secret keys in PULUMI_CONFIG_SECRET_KEYS (a JSON list), the
contract Pulumi's own Python host keeps. Exit status: 0 when the program finished; EXIT_REPORTED (32) when an
unexpected exception was reported to the engine; 1 after a `pulumi.RunError`, whose message was reported (as
Pulumi's own executor does, so the CLI adds its generic "program exited with non-zero exit code: 1" line, as on
a real install). A program that raises SystemExit exits with that status.

Only the standard library and the public `pulumi` API: this file runs in whichever virtualenv the project names.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

EXIT_OK: Final = 0
EXIT_RUN_ERROR: Final = 1
EXIT_REPORTED: Final = 32
"""The engine's "the program already reported its error; just stop" status."""
THREADS_PER_PARALLEL: Final = 4


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="executor", description="Run a Pulumi Python program")
    for flag in ("--monitor", "--engine", "--project", "--root_directory", "--stack", "--pwd", "--organization"):
        parser.add_argument(flag)
    parser.add_argument("--dry_run", choices=("true", "false"), default="false")
    parser.add_argument("--parallel", type=int, default=0)
    parser.add_argument("--tracing")
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    return parser.parse_args(argv)


def user_traceback(program: str) -> str:
    """The current exception's traceback from the program's entry file on (its `__main__.py`, or the file).

    The entry file, not the program's directory: a project's own `.venv` (and so the SDK) lives inside that.
    """
    frames = traceback.extract_tb(sys.exc_info()[2])
    entry = Path(program).resolve()
    entry = entry / "__main__.py" if entry.is_dir() else entry
    for index, frame in enumerate(frames):
        if Path(frame.filename).resolve() == entry:
            return traceback.format_exc(limit=-(len(frames) - index))
    return traceback.format_exc()


def main(argv: Sequence[str]) -> int:
    import pulumi
    import pulumi.runtime

    args = parse_args(argv)
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    settings = pulumi.runtime.Settings(
        project=args.project,
        stack=args.stack,
        monitor=args.monitor,
        engine=args.engine,
        parallel=args.parallel,
        dry_run=args.dry_run == "true",
        organization=args.organization,
        root_directory=args.root_directory,
    )
    pulumi.runtime.configure(settings)
    sys.argv = [args.program, *args.args]
    if args.pwd:
        os.chdir(args.pwd)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pool = ThreadPoolExecutor(max_workers=max(args.parallel, 1) * THREADS_PER_PARALLEL)
    loop.set_default_executor(pool)
    # Unobserved futures of a failed program are expected in Pulumi's model; asyncio would log each one.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    program = os.path.abspath(args.program)

    def run_program() -> None:
        runpy.run_path(program, run_name="__main__")

    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
        return EXIT_OK
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
        return EXIT_RUN_ERROR
    except Exception:
        pulumi.log.error("Program failed with an unhandled exception:\n" + user_traceback(program))
        return EXIT_REPORTED
    finally:
        pool.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
