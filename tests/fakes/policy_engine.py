"""Start the policy pack exactly as the Pulumi engine does, and speak the Analyzer protocol to it.

`pulumi.policy`'s main parses the engine address but never dials it (it configures the runtime from
the PULUMI_* variables only, and pulumi.log falls back to stderr without an engine), so no fake
Engine server is needed: the address given points at a port nothing listens on.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from bluegreen import naming
from tests.conftest import ROOT, dev_config, engine_value
from tests.fakes.policy_harness import Res, struct

PACK_DIR = ROOT / "policies"
UNUSED_ENGINE_ADDRESS = "127.0.0.1:1"
START_TIMEOUT_SECONDS = 60.0
RPC_TIMEOUT_SECONDS = 30.0
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}


def engine_environment() -> dict[str, str]:
    """The variables the engine sets for a policy pack of the dev stack's preview."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    config = {f"{naming.PROJECT}:{k}": engine_value(v) for k, v in dev_config().items()}
    env.update(
        PULUMI_PROJECT=naming.PROJECT,
        PULUMI_STACK="dev",
        PULUMI_DRY_RUN="true",
        PULUMI_ORGANIZATION="organization",
        PULUMI_CONFIG=json.dumps(config),
    )
    return env


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError(f"the policy pack printed no port within {timeout} s")
    return process.stdout.readline().decode().strip()


@dataclass
class Analyzer:
    process: subprocess.Popen[bytes]
    stub: analyzer_pb2_grpc.AnalyzerStub

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT_SECONDS)

    def configure(self, config: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Configure every policy, always with its level (the SDK would default it to advisory)."""
        config = config or {}
        policies = {}
        for policy in self.info().policies:
            overrides = dict(config.get(policy.name, {}))
            level = overrides.pop("enforcementLevel", None)
            properties = struct_pb2.Struct()
            properties.update(overrides)
            policies[policy.name] = analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[level] if level else policy.enforcementLevel, properties=properties
            )
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policies), timeout=RPC_TIMEOUT_SECONDS)

    def analyze(self, res: Res) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        """One resource's inputs, as the engine sends them before it operates on the resource."""
        request = analyzer_pb2.AnalyzeRequest(
            type=res.type,
            properties=struct(res.inputs),
            urn=res.urn,
            name=res.name,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=res.protect, parent=res.parent),
        )
        return list(self.stub.Analyze(request, timeout=RPC_TIMEOUT_SECONDS).diagnostics)

    def analyze_each(self, resources: Sequence[Res]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        return [d for res in resources for d in self.analyze(res)]

    def analyze_stack(self, resources: Sequence[Res]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        """Every resource's outputs, parent and dependencies, as the engine sends them at the end."""
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=struct(r.outputs),
                    urn=r.urn,
                    name=r.name,
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
                    parent=r.parent,
                    dependencies=list(r.dependencies),
                )
                for r in resources
            ]
        )
        return list(self.stub.AnalyzeStack(request, timeout=RPC_TIMEOUT_SECONDS).diagnostics)


@contextmanager
def running_pack(pack_dir: Path = PACK_DIR) -> Iterator[Analyzer]:
    """`python -u -m pulumi.policy <engine> <pack dir>` from the pack folder; stopped however the caller ends."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", UNUSED_ENGINE_ADDRESS, str(pack_dir.resolve())],
        cwd=pack_dir,
        env=engine_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    channel: grpc.Channel | None = None
    try:
        line = _first_line(process, START_TIMEOUT_SECONDS)
        if not line.isdigit():
            process.kill()
            _, stderr = process.communicate(timeout=RPC_TIMEOUT_SECONDS)
            raise RuntimeError(f"the policy pack did not print a port (got {line!r}): {stderr.decode()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_SECONDS)
        yield Analyzer(process, analyzer_pb2_grpc.AnalyzerStub(channel))
    finally:
        if channel is not None:
            channel.close()
        process.terminate()
        try:
            process.wait(timeout=RPC_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
