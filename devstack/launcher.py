"""Starts the whole platform on one machine: the embedded stack, migrations, five services, the gateway.

`python -m devstack.launcher run` is what `make run` calls; tests use `Launcher` with their own ports.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.embedded import StackEndpoints, start_stack, stop_stack
from devstack.provisioning import provision_database
from services.common.settings import DEFAULT_PORTS

BACKEND_SERVICES = ("tenancy", "ingest", "search", "analysis")
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Deployment:
    """Where a started platform answers."""

    gateway_url: str
    grpc_addresses: dict[str, str]
    endpoints: StackEndpoints
    database_urls: dict[str, str]
    data_dir: Path


@dataclass
class Launcher:
    """Starts and stops the platform's processes; the embedded stack is left to `stack_started_here`."""

    data_dir: Path
    gateway_port: int = 8000
    grpc_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    stack_base_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def start(self) -> Deployment:
        """Start everything and return once every service reports healthy."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        endpoints = start_stack(self.data_dir, base_port=self.stack_base_port)
        database_urls = provision_database(endpoints.database_admin_url, self.data_dir / "db-credentials.json")
        addresses = {name: f"127.0.0.1:{self.grpc_ports[name]}" for name in BACKEND_SERVICES}
        for name in (*BACKEND_SERVICES, "gateway"):
            self._run_once(name, "migrate", self._env(name, endpoints, database_urls, addresses))
        for name in BACKEND_SERVICES:
            self._spawn(name, self._env(name, endpoints, database_urls, addresses))
            if name == "tenancy":
                # Everyone else fetches token keys from tenancy at start-up; let it come first.
                _wait_for_grpc(name, addresses[name], self.processes[name])
        for name in BACKEND_SERVICES[1:]:
            _wait_for_grpc(name, addresses[name], self.processes[name])
        self._spawn("gateway", self._env("gateway", endpoints, database_urls, addresses))
        gateway_url = f"http://127.0.0.1:{self.gateway_port}"
        _wait_for_http(f"{gateway_url}/healthz", self.processes["gateway"])
        return Deployment(
            gateway_url=gateway_url,
            grpc_addresses=addresses,
            endpoints=endpoints,
            database_urls=database_urls,
            data_dir=self.data_dir,
        )

    @contextmanager
    def running(self) -> Iterator[Deployment]:
        """The platform, started, and stopped with its stack when the block ends: also when start-up fails
        half-way, and when the process is told to terminate. SIGTERM ends the block as Ctrl-C would (by
        default it ends Python without unwinding, which left a killed benchmark's services running)."""
        previous = signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            yield self.start()
        finally:
            try:
                self.stop(stack=True)
            finally:
                signal.signal(signal.SIGTERM, previous)

    def stop(self, *, stack: bool = False) -> None:
        """Stop the service processes (SIGTERM, then SIGKILL after a grace period), and the stack if asked."""
        try:
            self._stop_services()
        finally:
            if stack:
                stop_stack(self.data_dir)

    def _stop_services(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def restart(self, name: str, deployment: Deployment) -> None:
        """Kill one service hard and start it again (fault-injection tests)."""
        process = self.processes[name]
        process.kill()
        process.wait()
        self.restart_dead(name, deployment)

    def restart_dead(self, name: str, deployment: Deployment) -> None:
        """Start again a service whose process has exited."""
        self.processes.pop(name, None)
        self._spawn(name, self._env(name, deployment.endpoints, deployment.database_urls, deployment.grpc_addresses))
        if name == "gateway":
            _wait_for_http(f"{deployment.gateway_url}/healthz", self.processes[name])
        else:
            _wait_for_grpc(name, deployment.grpc_addresses[name], self.processes[name])

    def _env(
        self, name: str, endpoints: StackEndpoints, database_urls: dict[str, str], addresses: dict[str, str]
    ) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'gen'}",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PMDI_DATA_DIR": str(self.data_dir),
            "PMDI_DATABASE_URL": database_urls[name],
            "PMDI_NATS_URL": endpoints.nats_url,
            "PMDI_S3_ENDPOINT": endpoints.s3_endpoint,
            "PMDI_S3_ACCESS_KEY": endpoints.s3_access_key,
            "PMDI_S3_SECRET_KEY": endpoints.s3_secret_key,
            "PMDI_S3_SECURE": "true" if endpoints.s3_secure else "false",
            "PMDI_GATEWAY_PORT": str(self.gateway_port),
            **{f"PMDI_{peer.upper()}_ADDR": address for peer, address in addresses.items()},
        }
        if name in self.grpc_ports:
            env["PMDI_GRPC_PORT"] = str(self.grpc_ports[name])
        env.update(self.extra_env)
        return env

    def _log_file(self, name: str) -> IO[bytes]:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        handle = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def _run_once(self, name: str, command: str, env: dict[str, str]) -> None:
        result = subprocess.run(
            [sys.executable, "-m", f"services.{name}", command], env=env, capture_output=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} {command} failed:\n{result.stderr.decode(errors='replace')[-4000:]}")

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        log = self._log_file(name)
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}", "serve"],
            env=env,
            stdout=log,
            stderr=log,
            cwd=REPO_ROOT,
        )


def _exit_on_signal(signum: int, _: object) -> NoReturn:
    raise SystemExit(128 + signum)


def _wait_for_grpc(name: str, address: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} during start-up; see its log")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not become healthy at {address} within {timeout_s} s")


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode} during start-up; see its log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def run() -> None:
    """Start everything, print the URL, and stop it all on Ctrl-C."""
    data_dir = Path(os.environ.get("PMDI_DATA_DIR", ".pmdi"))
    launcher = Launcher(data_dir=data_dir, gateway_port=int(os.environ.get("PMDI_GATEWAY_PORT", "8000")))
    stopping = False

    def on_signal(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        deployment = launcher.start()
        print(
            f"\nPM Document Intelligence is up.\n  Web console:  {deployment.gateway_url}/\n"
            f"  GraphQL:      {deployment.gateway_url}/graphql (the explorer, in a browser)\n"
            f"  Command line: pmdi --url {deployment.gateway_url} login",
            flush=True,
        )
        print(f"  Logs:         {deployment.data_dir / 'logs'}\n  Ctrl-C stops everything.\n", flush=True)
        while not stopping:
            for name, process in launcher.processes.items():
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; see {data_dir / 'logs' / name}.log",
                        flush=True,
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping...", flush=True)
        launcher.stop(stack=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run()
    else:
        sys.exit("usage: python -m devstack.launcher run")
