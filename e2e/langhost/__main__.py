"""Serve the language host: print the port on the first line of stdout, then serve until interrupted.

The CLI starts it as `pulumi-language-python [--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDRESS` in a
process group of its own, and ends it with SIGINT to that group: that ends it quietly. Like Pulumi's own
hosts, it also ends by itself once the engine stops answering, so a CLI that exits without closing it
leaves nothing running.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Final

import grpc
from pulumi.runtime.proto import language_pb2_grpc

from .host import Host

WORKERS: Final = 16
HEALTHCHECK_VAR: Final = "BLUEGREEN_LANGHOST_HEALTHCHECK_SECONDS"
HEALTHCHECK_SECONDS: Final = 30.0
"""How often the engine is asked whether it is alive (Pulumi's hosts: every 5 minutes)."""
_HEALTH_CHECK: Final = "/grpc.health.v1.Health/Check"
MAX_MESSAGE_BYTES: Final = 400 * 1024 * 1024
"""As the SDK's own channels: a large stack's config or state fits."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pulumi-language-python", description=__doc__.splitlines()[0])
    parser.add_argument("--logtostderr", action="store_true")
    parser.add_argument("-v", dest="verbosity", default="0")
    parser.add_argument("--tracing")
    parser.add_argument("engine_address", nargs="?", default="")
    args, _ = parser.parse_known_args(argv)
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # One signal ends the host; a second one while it stops must not interrupt the stopping.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def engine_alive(channel: grpc.Channel, timeout: float) -> bool:
    """Whether the engine answers a health check; one that does not implement it is alive, as Pulumi's hosts judge."""
    check = channel.unary_unary(_HEALTH_CHECK, request_serializer=lambda _: b"", response_deserializer=bytes)
    try:
        check(None, timeout=timeout)
    except grpc.RpcError as error:
        return error.code() == grpc.StatusCode.UNIMPLEMENTED
    return True


def _watch_engine(address: str, every: float, stopped: threading.Event) -> None:
    with grpc.insecure_channel(address) as channel:
        while not stopped.wait(every):
            if not engine_alive(channel, timeout=every):
                os.kill(os.getpid(), signal.SIGTERM)  # the same quiet stop as the CLI's own signal
                return


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    host = Host(args.engine_address)
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    server = grpc.server(ThreadPoolExecutor(max_workers=WORKERS), options=options)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    # The CLI ends a host with SIGINT to its process group; a parent that ignores SIGINT must not make it deaf.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stopped = threading.Event()
    try:
        server.start()
        print(port, flush=True)
        if args.engine_address:
            every = float(os.environ.get(HEALTHCHECK_VAR) or HEALTHCHECK_SECONDS)
            threading.Thread(target=_watch_engine, args=(args.engine_address, every, stopped), daemon=True).start()
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass
    finally:
        stopped.set()
        host.stop()
        server.stop(grace=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
