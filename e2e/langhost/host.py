"""The language host: Pulumi's LanguageRuntime gRPC service for Python programs, on the SDK's own protos.

Each program run is a fresh process (executor.py) in the virtualenv the project names, with the exit
contract Pulumi's own host keeps: 0 is success, 32 means the program already reported its error (the CLI
just stops), anything else is "program exited with non-zero exit code: N". Policy packs and provider
directories run through RunPlugin, their output streamed back to the engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from . import interpreter
from .executor import EXIT_REPORTED
from .interpreter import HostError, Interpreter
from .streaming import Chunk, Exited, Streamed

HERE: Final = Path(__file__).resolve().parent
EXECUTOR: Final = HERE / "executor.py"
INSPECT: Final = HERE / "inspect_env.py"
CANCEL_GRACE_SECONDS: Final = 2.0
"""On Cancel, how long a running program may take to end by itself before it is interrupted."""
INSPECT_TIMEOUT_SECONDS: Final = 60
ANALYZER: Final = "analyzer"


def version() -> str:
    """The launcher's version: that of the Pulumi SDK it is built on."""
    return metadata.version("pulumi")


def run_response(code: int) -> language_pb2.RunResponse:
    """The engine's reading of a program's exit status."""
    if code == 0:
        return language_pb2.RunResponse()
    if code == EXIT_REPORTED:
        return language_pb2.RunResponse(bail=True)
    return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")


def options_of(info: language_pb2.ProgramInfo) -> dict[str, Any]:
    return json_format.MessageToDict(info.options) if info.HasField("options") else {}


def program_path(info: language_pb2.ProgramInfo, fallback: str) -> str:
    """The program's entry point (a directory holding __main__.py, or a file)."""
    if info.program_directory:
        return str(Path(info.program_directory, info.entry_point or "."))
    return fallback


def inspect(python: Interpreter, what: str, cwd: str) -> Any:
    """Run inspect_env.py `what` in that interpreter and return its JSON."""
    argv = [str(python.python), "-P", str(INSPECT), what]
    env = python.environment(os.environ)
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSPECT_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise HostError(f"could not inspect {python.python}: {error}") from error
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HostError(f"could not inspect {python.python}: {tail}")
    return json.loads(done.stdout)


def executor_argv(python: Interpreter, request: language_pb2.RunRequest, engine: str) -> list[str]:
    """The executor's command line. With no engine address of its own (a host the CLI attached to with
    `--client`), the request's first argument is the engine's, as the Automation API passes it, not the program's."""
    info = request.info
    args = list(request.args)
    if not engine and args:
        engine, args = args[0], args[1:]
    argv = [str(python.python), "-P", "-u", str(EXECUTOR)]
    argv += ["--monitor", request.monitor_address, "--engine", engine, "--project", request.project]
    argv += ["--root_directory", info.root_directory or request.pwd, "--stack", request.stack, "--pwd", request.pwd]
    argv += ["--dry_run", "true" if request.dryRun else "false", "--parallel", str(request.parallel)]
    if request.organization:
        argv += ["--organization", request.organization]
    return [*argv, program_path(info, request.program or request.pwd), *args]


def executor_env(python: Interpreter, request: language_pb2.RunRequest) -> dict[str, str]:
    env = python.environment(os.environ)
    env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
    return env


def plugin_argv(python: Interpreter, request: language_pb2.RunPluginRequest) -> tuple[list[str], str]:
    """The command line and working directory of a policy pack (kind analyzer) or a provider directory."""
    program = program_path(request.info, request.program)
    if request.kind == ANALYZER:
        return [str(python.python), "-u", "-m", "pulumi.policy", *request.args, program], program
    return [str(python.python), "-u", program, *request.args], request.pwd or program


def overlay(base: Mapping[str, str], pairs: Sequence[str]) -> dict[str, str]:
    """`base` with the request's `K=V` entries on top."""
    env = dict(base)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if sep:
            env[key] = value
    return env


class Host(language_pb2_grpc.LanguageRuntimeServicer):
    """What the CLI calls on a Python language host; code generation is not served (UNIMPLEMENTED)."""

    def __init__(self, engine_address: str = "") -> None:
        self.engine_address = engine_address
        self._programs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- identity -------------------------------------------------------------------------------------------------

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=version())

    def Handshake(
        self, request: language_pb2.LanguageHandshakeRequest, context: grpc.ServicerContext
    ) -> language_pb2.LanguageHandshakeResponse:
        self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def About(self, request: language_pb2.AboutRequest, context: grpc.ServicerContext) -> language_pb2.AboutResponse:
        python, found = _inspected(request.info, ".", "about", context)
        metadata = {"toolchain": "pip"}
        if python.virtualenv is not None:
            metadata["virtualenv"] = str(python.virtualenv)
        return language_pb2.AboutResponse(executable=found["executable"], version=found["version"], metadata=metadata)

    # -- the program's dependencies ---------------------------------------------------------------------------------

    def GetRequiredPackages(
        self, request: language_pb2.GetRequiredPackagesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetRequiredPackagesResponse:
        _, found = _inspected(request.info, ".", "plugins", context)
        packages = [
            plugin_pb2.PackageDependency(
                name=p["name"], kind="resource", version=p["version"], server=p.get("server", "")
            )
            for p in found
        ]
        return language_pb2.GetRequiredPackagesResponse(packages=packages)

    def GetProgramDependencies(
        self, request: language_pb2.GetProgramDependenciesRequest, context: grpc.ServicerContext
    ) -> language_pb2.GetProgramDependenciesResponse:
        _, found = _inspected(request.info, request.pwd, "dependencies", context)
        return language_pb2.GetProgramDependenciesResponse(
            dependencies=[language_pb2.DependencyInfo(name=d["name"], version=d["version"]) for d in found]
        )

    def InstallDependencies(
        self, request: language_pb2.InstallDependenciesRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.InstallDependenciesResponse]:
        info = request.info
        root = info.root_directory or request.directory
        try:
            venv = interpreter.virtualenv_path(root, options_of(info))
            steps: list[list[str]] = []
            if venv is not None and not (venv / "bin" / "python").exists():
                steps.append([str(interpreter.base_python()), "-m", "venv", str(venv)])
            requirements = Path(program_path(info, request.directory)) / "requirements.txt"
            if requirements.is_file():
                python = venv / "bin" / "python" if venv is not None else interpreter.base_python()
                steps.append([str(python), "-m", "pip", "install", "-r", str(requirements)])
        except HostError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        env = interpreter.activated(os.environ, venv)
        for argv in steps:
            child = Streamed(argv, cwd=root, env=env)
            context.add_callback(child.stop)
            for event in child:
                if isinstance(event, Chunk) and event.stream == "stdout":
                    yield language_pb2.InstallDependenciesResponse(stdout=event.data)
                elif isinstance(event, Chunk):
                    yield language_pb2.InstallDependenciesResponse(stderr=event.data)
                elif event.code != 0:
                    context.abort(grpc.StatusCode.UNKNOWN, f"`{' '.join(argv)}` exited {event.code}")

    # -- running --------------------------------------------------------------------------------------------------

    def Run(self, request: language_pb2.RunRequest, context: grpc.ServicerContext) -> language_pb2.RunResponse:
        info = request.info
        try:
            python = interpreter.find(info.root_directory or request.pwd, options_of(info))
        except HostError as error:
            return language_pb2.RunResponse(error=str(error))
        program = subprocess.Popen(
            executor_argv(python, request, self.engine_address),
            cwd=request.pwd or None,
            env=executor_env(python, request),
        )
        with self._lock:
            self._programs.add(program)
        context.add_callback(lambda: _interrupt(program))
        try:
            return run_response(program.wait())
        finally:
            with self._lock:
                self._programs.discard(program)

    def RunPlugin(
        self, request: language_pb2.RunPluginRequest, context: grpc.ServicerContext
    ) -> Iterator[language_pb2.RunPluginResponse]:
        info = request.info
        try:
            python = interpreter.find(info.root_directory or request.pwd, options_of(info))
        except HostError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        argv, cwd = plugin_argv(python, request)
        child = Streamed(argv, cwd=cwd, env=overlay(python.environment(os.environ), request.env))
        # The engine ends a plugin by cancelling this call.
        context.add_callback(child.stop)
        for event in child:
            if isinstance(event, Exited):
                yield language_pb2.RunPluginResponse(exitcode=event.code)
            elif event.stream == "stdout":
                yield language_pb2.RunPluginResponse(stdout=event.data)
            else:
                yield language_pb2.RunPluginResponse(stderr=event.data)

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """Let running programs end by themselves for a moment, then interrupt them."""
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        with self._lock:
            programs = list(self._programs)
        for program in programs:
            try:
                program.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _interrupt(program)
        return empty_pb2.Empty()

    def stop(self) -> None:
        with self._lock:
            programs = list(self._programs)
        for program in programs:
            _interrupt(program)


def _inspected(
    info: language_pb2.ProgramInfo, fallback_root: str, what: str, context: grpc.ServicerContext
) -> tuple[Interpreter, Any]:
    """The project's interpreter and what inspect_env.py `what` says of it; a HostError aborts the call."""
    root = info.root_directory or fallback_root
    try:
        python = interpreter.find(root, options_of(info))
        return python, inspect(python, what, root)
    except HostError as error:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        raise  # abort() raises already; its stub does not say so


def _interrupt(program: subprocess.Popen[bytes]) -> None:
    if program.poll() is None:
        program.send_signal(signal.SIGINT)
