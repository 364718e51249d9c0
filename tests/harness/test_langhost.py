"""The local toolchain's Python language host, over real gRPC and real child processes (no Pulumi CLI needed).

The CLI's side of each call is what LANGHOST facts measured with the real CLI say it sends: program info with
the runtime options of Pulumi.yaml, RunPlugin for a policy pack or provider directory, and the end of a plugin
signalled by cancelling its stream.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from e2e import toolchain
from e2e.langhost import executor, host, interpreter
from e2e.langhost.__main__ import parse_args
from e2e.langhost.interpreter import HostError
from tests.conftest import ROOT

VENV = ROOT / ".venv"
WAIT_SECONDS = 20
PROJECT_VENV = {"toolchain": "pip", "virtualenv": str(VENV)}


@pytest.fixture
def stub() -> Iterator[language_pb2_grpc.LanguageRuntimeStub]:
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host.Host("127.0.0.1:1"), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        server.stop(grace=None)


def info(root: Path, options: dict[str, str], program: Path | None = None) -> language_pb2.ProgramInfo:
    struct = struct_pb2.Struct()
    struct.update(options)
    where = str(program or root)
    return language_pb2.ProgramInfo(root_directory=str(root), program_directory=where, entry_point=".", options=struct)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, language_pb2.RunResponse()),
        (32, language_pb2.RunResponse(bail=True)),
        (1, language_pb2.RunResponse(error="program exited with non-zero exit code: 1")),
        (-2, language_pb2.RunResponse(error="program exited with non-zero exit code: -2")),
    ],
)
def test_a_programs_exit_status_maps_to_the_engines_answer(code: int, expected: language_pb2.RunResponse) -> None:
    assert host.run_response(code) == expected


def test_the_launcher_takes_the_engine_address_after_the_cli_flags() -> None:
    assert parse_args(["--logtostderr", "-v=3", "127.0.0.1:43575"]).engine_address == "127.0.0.1:43575"
    assert parse_args(["127.0.0.1:33083"]).engine_address == "127.0.0.1:33083"
    assert parse_args(["--tracing", "http://t", "127.0.0.1:1"]).engine_address == "127.0.0.1:1"


def test_the_executor_reads_the_hosts_command_line() -> None:
    argv = "--monitor m:1 --engine e:2 --project bluegreen --root_directory /p --stack dev --pwd /p"
    args = executor.parse_args([*argv.split(), "--dry_run", "true", "--parallel", "0", "/p", "x"])
    assert (args.monitor, args.engine, args.dry_run, args.parallel, args.program, args.args) == (
        "m:1",
        "e:2",
        "true",
        0,
        "/p",
        ["x"],
    )


def test_required_packages_are_the_resource_plugins_the_programs_venv_installs(stub) -> None:
    answer = stub.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info(ROOT, PROJECT_VENV)))
    # pulumi-policy ships a pulumi-plugin.json too, but it is the SDK, not a provider.
    assert list(answer.packages) == [
        plugin_pb2.PackageDependency(name="kubernetes", kind="resource", version="v4.25.0")
    ]


def test_a_missing_virtualenv_is_one_error_naming_it_and_the_fix(stub, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as error:
        stub.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=info(tmp_path, {"virtualenv": ".venv"})))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.value.details() == (
        f"the 'virtualenv' option is set to {tmp_path / '.venv'}, but it has no bin/python: "
        "create it with `pulumi install` (or `make venv`)"
    )


def test_a_toolchain_other_than_pip_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(HostError) as error:
        interpreter.find(str(tmp_path), {"toolchain": "uv", "virtualenv": ".venv"})
    assert str(error.value) == (
        "the runtime option toolchain: uv is not supported by this language host (supported: pip); "
        "set toolchain: pip and virtualenv: .venv in Pulumi.yaml"
    )


def test_about_names_the_programs_interpreter(stub) -> None:
    answer = stub.About(language_pb2.AboutRequest(info=info(ROOT, PROJECT_VENV)))
    done = subprocess.run(
        [VENV / "bin" / "python", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (answer.executable, answer.version) == (str(VENV / "bin" / "python"), done.stdout.strip())
    assert dict(answer.metadata) == {"toolchain": "pip", "virtualenv": str(VENV)}


def test_program_dependencies_list_the_venvs_distributions(stub) -> None:
    answer = stub.GetProgramDependencies(
        language_pb2.GetProgramDependenciesRequest(pwd=str(ROOT), info=info(ROOT, PROJECT_VENV))
    )
    found = {d.name: d.version for d in answer.dependencies}
    assert {name: found[name] for name in ("pulumi", "pulumi-kubernetes", "pulumi-policy")} == {
        name: toolchain.requirement(name) for name in ("pulumi", "pulumi-kubernetes", "pulumi-policy")
    }


def _plugin_dir(tmp_path: Path, source: str) -> Path:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "__main__.py").write_text(source)
    return plugin


def test_run_plugin_streams_stdout_and_stderr_then_the_exit_code(stub, tmp_path: Path) -> None:
    plugin = _plugin_dir(
        tmp_path,
        "import sys\nprint('port 1234', flush=True)\nprint('warn', file=sys.stderr, flush=True)\n"
        "print(sys.argv[1:], flush=True)\nsys.exit(3)\n",
    )
    request = language_pb2.RunPluginRequest(
        pwd=str(tmp_path), kind="resource", args=["a", "b"], info=info(plugin, PROJECT_VENV)
    )
    replies = list(stub.RunPlugin(request, timeout=WAIT_SECONDS))
    out = b"".join(r.stdout for r in replies)
    err = b"".join(r.stderr for r in replies)
    assert (out, err) == (b"port 1234\n['a', 'b']\n", b"warn\n")
    assert replies[-1] == language_pb2.RunPluginResponse(exitcode=3)


def test_a_policy_pack_runs_as_the_sdks_policy_module_in_its_own_directory(stub, tmp_path: Path) -> None:
    # pulumi.policy runs the pack's __main__.py with the pack directory as cwd; this pack only reports where it ran.
    pack = _plugin_dir(tmp_path, "import os, sys\nprint(os.getcwd(), sys.argv[1:], flush=True)\n")
    request = language_pb2.RunPluginRequest(
        pwd=str(ROOT), kind="analyzer", args=["127.0.0.1:9"], info=info(pack, PROJECT_VENV)
    )
    replies = list(stub.RunPlugin(request, timeout=WAIT_SECONDS))
    printed = b"".join(r.stdout for r in replies).decode()
    assert printed.splitlines()[-1] == f"{pack} ['127.0.0.1:9', '{pack}']"
    assert replies[-1] == language_pb2.RunPluginResponse(exitcode=0)


def test_cancelling_a_plugins_stream_stops_the_plugin(stub, tmp_path: Path) -> None:
    plugin = _plugin_dir(tmp_path, "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)\n")
    request = language_pb2.RunPluginRequest(pwd=str(tmp_path), kind="resource", info=info(plugin, PROJECT_VENV))
    call = stub.RunPlugin(request, timeout=WAIT_SECONDS)
    pid = int(next(call).stdout)
    call.cancel()
    deadline = time.monotonic() + WAIT_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone between the lookup and the read
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def test_install_dependencies_creates_a_missing_venv_and_streams_pip(stub, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("")
    request = language_pb2.InstallDependenciesRequest(
        directory=str(tmp_path), info=info(tmp_path, {"toolchain": "pip", "virtualenv": "venv"})
    )
    list(stub.InstallDependencies(request, timeout=120))
    created = tmp_path / "venv" / "bin" / "python"
    done = subprocess.run([created, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(tmp_path / "venv")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("inherited", [None, _ignore_sigint], ids=["default", "sigint-ignored-by-the-parent"])
def test_the_launcher_prints_its_port_first_and_ends_quietly_on_the_clis_sigint(inherited) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-u", "-m", "e2e.langhost", "127.0.0.1:1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the CLI starts it in a process group of its own and signals the group
        preexec_fn=inherited,  # a background job of a non-interactive shell starts with SIGINT ignored
    )
    try:
        assert launcher.stdout is not None
        port = int(launcher.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = language_pb2_grpc.LanguageRuntimeStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=WAIT_SECONDS)
        os.killpg(launcher.pid, signal.SIGINT)
        out, err = launcher.communicate(timeout=WAIT_SECONDS)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert info.version == toolchain.requirement("pulumi")
    assert (launcher.returncode, out, err) == (0, b"", b"")


def test_the_runtime_options_of_pulumi_yaml_name_the_venv_the_host_uses() -> None:
    options = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    found = interpreter.find(str(ROOT), options)
    assert (found.python, found.virtualenv) == (VENV / "bin" / "python", VENV)
    env = found.environment({"PATH": "/usr/bin", "PYTHONHOME": "/x", "KEEP": "1"})
    assert env == {"PATH": f"{VENV / 'bin'}{os.pathsep}/usr/bin", "VIRTUAL_ENV": str(VENV), "KEEP": "1"}


def test_config_reaches_the_program_as_the_sdk_reads_it() -> None:
    request = language_pb2.RunRequest(
        config={"bluegreen:activeColor": "green", "bluegreen:apps": "[]"}, configSecretKeys=["bluegreen:env"]
    )
    python = interpreter.Interpreter(VENV / "bin" / "python", VENV)
    env = host.executor_env(python, request)
    assert json.loads(env["PULUMI_CONFIG"]) == {"bluegreen:activeColor": "green", "bluegreen:apps": "[]"}
    assert json.loads(env["PULUMI_CONFIG_SECRET_KEYS"]) == ["bluegreen:env"]


EXECUTOR_PROGRAMS = {
    "finishes": ("print('hi')\n", 0, "hi\n"),
    "run-error": ("import pulumi\nraise pulumi.RunError('bad config here')\n", 1, "error: bad config here\n"),
    "bails": ("raise SystemExit(32)\n", 32, ""),
}


@pytest.mark.parametrize(("source", "code", "said"), EXECUTOR_PROGRAMS.values(), ids=EXECUTOR_PROGRAMS.keys())
def test_the_executor_exits_as_pulumis_own_does(tmp_path: Path, source: str, code: int, said: str) -> None:
    # Without a monitor the SDK registers nothing and logs to stderr: the exit contract is what is left to see.
    (tmp_path / "__main__.py").write_text(source)
    argv: list[str | Path] = [VENV / "bin" / "python", "-P", "-u", host.EXECUTOR, "--project", "p", "--stack", "s"]
    argv += ["--pwd", str(tmp_path), "--dry_run", "true", "--parallel", "0", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (code, said)


def test_an_unhandled_exception_is_reported_from_the_programs_own_frames(tmp_path: Path) -> None:
    # The project's .venv, and so the SDK's frames, sit inside the program's directory: they are not the program's.
    (tmp_path / "__main__.py").write_text("def f():\n    raise ValueError('boom')\n\n\nf()\n")
    (tmp_path / ".venv").symlink_to(VENV)
    argv: list[str | Path] = [tmp_path / ".venv" / "bin" / "python", "-P", "-u", host.EXECUTOR, "--project", "p"]
    argv += ["--stack", "s"]
    argv += ["--pwd", str(tmp_path), "--dry_run", "true", "--parallel", "0", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)
    entry = tmp_path / "__main__.py"
    assert done.returncode == 32
    assert done.stderr.splitlines() == [
        "error: Program failed with an unhandled exception:",
        "Traceback (most recent call last):",
        f'  File "{entry}", line 5, in <module>',
        "    f()",
        f'  File "{entry}", line 2, in f',
        "    raise ValueError('boom')",
        "ValueError: boom",
        "",
    ]


def test_the_traceback_skips_frames_of_a_venv_inside_the_program_directory(tmp_path: Path) -> None:
    # As with a project's own .venv: the SDK's frames come first and sit inside the program's directory.
    (tmp_path / "__main__.py").write_text("raise ValueError('boom')\n")
    sdk = tmp_path / ".venv" / "sdk_like.py"
    sdk.parent.mkdir()
    sdk.write_text("import runpy\n\n\ndef run(path):\n    runpy.run_path(path)\n")
    namespace: dict[str, object] = {}
    exec(compile(sdk.read_text(), str(sdk), "exec"), namespace)
    try:
        namespace["run"](str(tmp_path))  # type: ignore[operator]
    except ValueError:
        shown = executor.user_traceback(str(tmp_path))
    assert shown.splitlines()[1] == f'  File "{tmp_path / "__main__.py"}", line 1, in <module>'


def test_a_plugin_that_ignores_sigterm_is_killed_without_stalling_the_host(stub, tmp_path: Path) -> None:
    source = "import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint(os.getpid(), flush=True)\n"
    plugin = _plugin_dir(tmp_path, source + "time.sleep(60)\n")
    request = language_pb2.RunPluginRequest(pwd=str(tmp_path), kind="resource", info=info(plugin, PROJECT_VENV))
    call = stub.RunPlugin(request, timeout=WAIT_SECONDS)
    pid = int(next(call).stdout)
    call.cancel()
    # The cancelled call's callback runs on gRPC's one polling thread: the host answers at once meanwhile.
    assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=2).version
    deadline = time.monotonic() + WAIT_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def test_the_launcher_ends_quietly_once_the_engine_is_gone() -> None:
    # A stand-in engine that serves nothing: its health check answers UNIMPLEMENTED, which counts as alive.
    engine = grpc.server(ThreadPoolExecutor(max_workers=1))
    engine_port = engine.add_insecure_port("127.0.0.1:0")
    engine.start()
    launcher = subprocess.Popen(
        [sys.executable, "-u", "-m", "e2e.langhost", f"127.0.0.1:{engine_port}"],
        cwd=ROOT,
        env={**os.environ, "BLUEGREEN_LANGHOST_HEALTHCHECK_SECONDS": "0.2"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert launcher.stdout is not None
        int(launcher.stdout.readline())
        time.sleep(1)  # five checks answered
        alive_while_the_engine_answers = launcher.poll() is None
        engine.stop(grace=None)
        out, err = launcher.communicate(timeout=WAIT_SECONDS)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert alive_while_the_engine_answers
    # gRPC's own log may note the closed connection; nobody reads it then, and nothing fails.
    assert (launcher.returncode, out, b"Traceback" in err) == (0, b"", False)
