"""The real node's container images: the project's own small programs (e2e/images), never pulled.

Each static binary becomes a one-layer OCI image with crane, through a registry crane serves on the
node's loopback for the seconds it takes, then is imported into the node's containerd. A variant is
one of those images with environment set in its config: the same binary, behaving otherwise.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from e2e.env import CHECKOUT, E2EError, run, say
from e2e.node_files import SANDBOX_IMAGE

SOURCE: Final = CHECKOUT / "e2e" / "images"
ECHO: Final = "bluegreen.local/e2e/echo:1"
RELAY: Final = "bluegreen.local/e2e/relay:1"
PROBE: Final = "bluegreen.local/e2e/probe:1"
IMAGES: Final = {"echo": ECHO, "relay": RELAY, "probe": PROBE, "pause": SANDBOX_IMAGE}
"""Program (a directory of e2e/images) -> the image reference the node knows it by."""
ECHO_BROKEN: Final = "bluegreen.local/e2e/echo:broken"
"""The echo that answers its first 2 requests per pod (a pre-switch smoke check passes), then only 500s."""


@dataclass(frozen=True)
class Variant:
    program: str
    """Whose image (a key of IMAGES) it starts from."""
    reference: str
    env: Mapping[str, str]
    """Set in the image's config, so every container of it starts with them."""


VARIANTS: Final = {"echo-broken": Variant("echo", ECHO_BROKEN, {"ECHO_FAIL_AFTER": "2"})}
"""Variant name -> the program's image with these environment variables, as the node knows it."""
REFERENCES: Final = {**IMAGES, **{name: variant.reference for name, variant in VARIANTS.items()}}
"""Every image imported into the node (program or variant name -> reference)."""
STAND_INS: Final = {"hashicorp/http-echo:1.0.0": ECHO, "nginxinc/nginx-unprivileged:1.27.4-alpine": RELAY}
"""The images Pulumi.dev.yaml names -> the project's own programs with the same flags and ports."""
_REGISTRY: Final = "127.0.0.1:5000"
_REGISTRY_WAIT_SECONDS: Final = 20
_STEP_TIMEOUT_SECONDS: Final = 60

Inside = Callable[[Sequence[str | Path]], list[str]]
"""Prefixes a command so it runs in the node's network namespace."""


def localize(stack_file: str) -> str:
    """A stack file with its upstream images replaced by the project's own (the suite's stacks run those)."""
    for upstream, own in STAND_INS.items():
        stack_file = stack_file.replace(upstream, own)
    return stack_file


def build_programs(out: Path, log: Path) -> None:
    """go build every program of e2e/images into `out` (static, stripped)."""
    out.mkdir(parents=True, exist_ok=True)
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=mod"}
    build = ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", f"{out}/", "./..."]
    run(build, what="e2e images build", env={**os.environ, **env}, cwd=SOURCE, log=log)


def _layer(binary: Path) -> bytes:
    """A layer holding only /<name>, root-owned and executable."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(binary.name)
        data = binary.read_bytes()
        info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o755, 0, 0, 0
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def _registry(crane: Path, inside: Inside, log: Path) -> Iterator[None]:
    with log.open("a") as out:
        proc = subprocess.Popen(
            inside([crane, "registry", "serve", "--address", _REGISTRY]), stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + _REGISTRY_WAIT_SECONDS
        while True:
            try:
                run(inside([crane, "catalog", "--insecure", _REGISTRY]), what="crane catalog", timeout=5)
                break
            except E2EError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise E2EError(f"crane's registry did not answer on {_REGISTRY} (log: {log})") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def build_images(crane: Path, binaries: Path, out: Path, inside: Inside, log: Path) -> dict[str, Path]:
    """One OCI image tarball per program (entrypoint /<program>) and per variant; returns its name -> tarball."""
    out.mkdir(parents=True, exist_ok=True)
    tarballs = {}
    platform = f"linux/{run(['go', 'env', 'GOARCH'], what='go env GOARCH', timeout=_STEP_TIMEOUT_SECONDS).strip()}"
    with _registry(crane, inside, log):
        for name in IMAGES:
            layer = out / f"{name}.layer.tar"
            layer.write_bytes(_layer(binaries / name))
            staged, final = f"{_REGISTRY}/{name}:staged", f"{_REGISTRY}/{name}:final"
            append: list[str | Path] = [crane, "append", "--insecure", "--oci-empty-base", "-f", layer, "-t", staged]
            run(inside(append), what="crane append", timeout=_STEP_TIMEOUT_SECONDS)
            mutate: list[str | Path] = [crane, "mutate", "--insecure", "--entrypoint", f"/{name}"]
            mutate += ["--set-platform", platform, "-t", final, staged]
            run(inside(mutate), what="crane mutate", timeout=_STEP_TIMEOUT_SECONDS)
            tarballs[name] = _pull(crane, final, out / f"{name}.tar", inside)
        for name, variant in VARIANTS.items():
            final = f"{_REGISTRY}/{name}:final"
            env = [arg for key, value in variant.env.items() for arg in ("--env", f"{key}={value}")]
            mutate = [crane, "mutate", "--insecure", *env, "-t", final, f"{_REGISTRY}/{variant.program}:final"]
            run(inside(mutate), what="crane mutate", timeout=_STEP_TIMEOUT_SECONDS)
            tarballs[name] = _pull(crane, final, out / f"{name}.tar", inside)
    return tarballs


def _pull(crane: Path, reference: str, tarball: Path, inside: Inside) -> Path:
    pull: list[str | Path] = [crane, "pull", "--insecure", reference, tarball]
    run(inside(pull), what="crane pull", timeout=_STEP_TIMEOUT_SECONDS)
    return tarball


def import_images(ctr: Path, socket: Path, tarballs: dict[str, Path]) -> None:
    """Into containerd's k8s.io namespace, tagged with the names pods use."""
    base: list[str | Path] = [ctr, "--address", socket, "--namespace", "k8s.io"]
    for name, tarball in tarballs.items():
        run([*base, "images", "import", tarball], what=f"ctr images import {name}", timeout=_STEP_TIMEOUT_SECONDS)
        tag = [*base, "images", "tag", "--force", f"{_REGISTRY}/{name}:final", REFERENCES[name]]
        run(tag, what="ctr images tag", timeout=_STEP_TIMEOUT_SECONDS)
    say(f"images imported: {', '.join(REFERENCES[name] for name in tarballs)}")
