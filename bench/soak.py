"""Soak: mixed uploads, searches, asks and live subscriptions against a supervised platform (by default two
replicas of every service and a 3-node NATS JetStream cluster) for 20 minutes, with a random SIGKILL every
2 minutes (a replica of a service, or a NATS node, started again 15 s later). Reports documents lost (target 0),
stuck (0), analysed twice (0), progress that went backwards in a subscription (0), memory (RSS) of every service
over the run, restarts, and p50/p95 and errors of each operation.

Usage: python bench/soak.py [--minutes 20] [--kill-every 120] [--replicas 2] [--nats-nodes 3] [--seed 1]
Writes bench/results/soak.json (or --output).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from devstack.embedded import nats_server, start_stack  # noqa: E402 - after the path set-up above
from devstack.embedded.stack import embedded_nats_nodes  # noqa: E402
from devstack.launcher import SERVICES, Launcher  # noqa: E402
from tests.support import files  # noqa: E402
from tests.support.uploads import EVENTS, upload  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "soak.json"
PASSWORD = "soak-Password-2024!"
REGISTER = """mutation($e: String!, $p: String!) {
  register(organizationName: "Soak", email: $e, password: $p) { accessToken user { organization { id } } } }"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
DOCUMENT = "query($id: ID!) { document(id: $id) { id status error } }"
SEARCH = "query($q: String!) { search(query: $q, limit: 5) { document { id } score } }"
ASK = "query($q: String!) { ask(question: $q) { answer citations { document { id } } } }"
QUESTIONS = [
    "What are the critical risks for the go-live?",
    "Who sends the cutover runbook?",
    "When is the rollback window booked?",
    "Which outages would stop the go-live?",
]
WORDS = ["outage", "runbook", "rollback", "vendor", "go-live", "cutover", "warehouse", "broker", "identity", "payment"]
COMPONENTS = ["payment gateway", "identity provider", "message broker", "data warehouse", "print service"]
ORDER = ["QUEUED", "EXTRACTING", "INDEXING", "ANALYZING", "COMPLETED"]
RESTART_NATS_AFTER_S = 15.0
MEMORY_EVERY_S = 10.0
# A process's memory grows while it starts (imports, the model, first requests): growth counts from this age.
WARM_UP_S = 60.0


def note(i: int) -> bytes:
    today = datetime.now(UTC).date()
    component = COMPONENTS[i % len(COMPONENTS)]
    return f"""# Workstream {i} weekly status

Date: {today.isoformat()}

## Summary
The {component} migration for workstream {i} is on track; the vendor confirmed the cutover window.

## Risks
- A {component} outage in workstream {i} would stop the go-live, a critical risk.

## Actions
- Tom will send the workstream {i} cutover runbook by {(today + timedelta(days=3)).strftime("%d %B %Y")}.
- Ana to book rollback window {i} with the hosting provider.
""".encode()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


@dataclass
class Stats:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, started: float, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.latencies_ms[op].append((time.perf_counter() - started) * 1000)
            else:
                self.errors[op][error] += 1

    def summary(self) -> dict[str, Any]:
        ops = sorted(set(self.latencies_ms) | set(self.errors))
        return {
            op: {
                "count": len(self.latencies_ms[op]),
                "p50_ms": percentile(self.latencies_ms[op], 0.5),
                "p95_ms": percentile(self.latencies_ms[op], 0.95),
                "errors": dict(self.errors[op]),
            }
            for op in ops
        }


class Soak:
    """The load, the faults and the measurements of one run."""

    def __init__(self, launcher: Launcher, gateway_urls: list[str], admin_url: str, seed: int) -> None:
        self.launcher = launcher
        self.admin_url = admin_url
        self.gateways = gateway_urls
        self.rng = random.Random(seed)
        self.stats = Stats()
        self.stop = threading.Event()
        self.email = f"soak-{uuid.uuid4().hex[:8]}@example.com"
        self.token = ""
        self.organization_id = ""
        self.uploaded: dict[str, float] = {}  # document id -> when the upload was acknowledged
        self.final_at: dict[str, float] = {}
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.subscription_reconnects = 0
        self.kills: list[dict[str, Any]] = []
        # replica name -> (seconds into the run, pid, seconds the process has run, rss)
        self.memory: dict[str, list[tuple[float, int, float, int]]] = defaultdict(list)
        self.started = time.monotonic()
        self.lock = threading.Lock()

    # -- GraphQL over HTTP, against any gateway replica that answers --------------------------------------

    def graphql(self, query: str, variables: dict[str, Any], *, timeout: float = 60) -> dict[str, Any]:
        urls = self.rng.sample(self.gateways, len(self.gateways))
        last: Exception | None = None
        for url in urls:
            try:
                reply = httpx.post(
                    f"{url}/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
                    timeout=timeout,
                )
                return dict(reply.json())
            except httpx.TransportError as exc:  # that gateway replica is down: the next one
                last = exc
        raise RuntimeError(f"no gateway answered: {last}")

    def sign_in(self) -> None:
        if not self.token:
            reply = self.graphql(REGISTER, {"e": self.email, "p": PASSWORD})
            self.organization_id = reply["data"]["register"]["user"]["organization"]["id"]
            self.token = reply["data"]["register"]["accessToken"]
        else:
            reply = self.graphql(LOGIN, {"e": self.email, "p": PASSWORD})
            self.token = reply["data"]["login"]["accessToken"]

    # -- the load --------------------------------------------------------------------------------------

    def _every(self, interval_s: float, work: Callable[[], None]) -> None:
        while not self.stop.wait(self.rng.uniform(0.5, 1.5) * interval_s):
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - counted by the operation; the soak goes on
                print(f"{work.__name__}: {exc}", flush=True)

    def upload_one(self) -> None:
        i = len(self.uploaded)
        if i % 5 == 4:
            content, name = files.pdf_bytes([note(i).decode().splitlines()]), f"status-{i}.pdf"
        else:
            content, name = note(i), f"status-{i}.md"
        started = time.perf_counter()
        url = self.rng.choice(self.gateways)
        try:
            result = upload(url, self.token, name, content)
        except httpx.TransportError as exc:
            self.stats.record("upload", started, type(exc).__name__)
            return
        if result.status == 200 and not result.body.get("errors"):
            self.stats.record("upload", started)
            with self.lock:
                self.uploaded[result.body["data"]["uploadDocument"]["id"]] = time.monotonic()
        else:
            codes = [e.get("extensions", {}).get("code") for e in result.body.get("errors") or [{}]]
            self.stats.record("upload", started, ",".join(str(c) for c in codes))

    def search_one(self) -> None:
        self._query("search", SEARCH, {"q": " ".join(self.rng.sample(WORDS, 2))})

    def ask_one(self) -> None:
        self._query("ask", ASK, {"q": self.rng.choice(QUESTIONS)})

    def _query(self, op: str, query: str, variables: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            reply = self.graphql(query, variables)
        except RuntimeError:
            self.stats.record(op, started, "no gateway")
            return
        if reply.get("errors"):
            self.stats.record(op, started, str(reply["errors"][0].get("extensions", {}).get("code")))
        else:
            self.stats.record(op, started)

    def refresh_token(self) -> None:
        self.sign_in()

    async def _subscribe(self) -> None:
        """documentEvents of the organization, opened again (on another gateway replica) whenever it closes."""
        while not self.stop.is_set():
            url = self.rng.choice(self.gateways).replace("http://", "ws://") + "/graphql"
            try:
                async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
                    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
                    await ws.send(json.dumps(init))
                    await asyncio.wait_for(ws.recv(), 10)
                    subscribe = {"query": EVENTS, "variables": {"id": None}}
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
                    while not self.stop.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        except TimeoutError:
                            continue
                        if message["type"] != "next" or message["payload"].get("errors"):
                            break
                        event = message["payload"]["data"]["documentEvents"]
                        with self.lock:
                            self.events[event["documentId"]].append(event)
                            if event["status"] in ("COMPLETED", "FAILED"):
                                self.final_at.setdefault(event["documentId"], time.monotonic())
            except (OSError, websockets.WebSocketException, TimeoutError):
                pass
            if not self.stop.is_set():
                self.subscription_reconnects += 1
                await asyncio.sleep(1)

    # -- faults and measurements -----------------------------------------------------------------------

    def kill_one(self) -> None:
        replicas = [name for name in self.launcher.processes]
        nodes = embedded_nats_nodes(self.launcher.data_dir) if self.launcher.nats_cluster_size > 1 else []
        target = self.rng.choice(replicas + [node.name for node in nodes])
        at = round(time.monotonic() - self.started, 1)
        node = next((n for n in nodes if n.name == target), None)
        if node is not None:
            pid = nats_server.pid(node.data)
            if pid is not None:
                psutil.Process(pid).kill()
            self.kills.append({"at_s": at, "target": target, "pid": pid})
            print(f"[{at:7.1f} s] SIGKILL NATS node {target}", flush=True)
            if not self.stop.wait(RESTART_NATS_AFTER_S):
                start_stack(self.launcher.data_dir)
            return
        pid = self.launcher.kill(target)
        self.kills.append({"at_s": at, "target": target, "pid": pid})
        print(f"[{at:7.1f} s] SIGKILL {target} (pid {pid})", flush=True)

    def sample_memory(self) -> None:
        now = time.monotonic() - self.started
        for name, process in list(self.launcher.processes.items()):
            try:
                running = psutil.Process(process.pid)
                rss, age = running.memory_info().rss, time.time() - running.create_time()
            except psutil.NoSuchProcess:
                continue
            self.memory[name].append((now, process.pid, age, rss))

    def memory_report(self) -> dict[str, Any]:
        """Per replica: RSS at its first and last sample, and the growth of its longest-lived process after
        its warm-up (a restarted replica starts again from nothing, so growth is per process lifetime)."""
        report: dict[str, Any] = {}
        for name, samples in sorted(self.memory.items()):
            lifetimes: dict[int, list[tuple[float, int]]] = defaultdict(list)
            for t, pid, age, rss in samples:
                if age >= WARM_UP_S:
                    lifetimes[pid].append((t, rss))
            longest = max(lifetimes.values(), key=lambda s: s[-1][0] - s[0][0], default=[(0.0, 0)])
            minutes = (longest[-1][0] - longest[0][0]) / 60
            growth = (longest[-1][1] - longest[0][1]) / 2**20
            report[name] = {
                "first_mb": round(samples[0][3] / 2**20, 1),
                "last_mb": round(samples[-1][3] / 2**20, 1),
                "peak_mb": round(max(s[3] for s in samples) / 2**20, 1),
                "processes": len({s[1] for s in samples}),
                "longest_process_minutes": round(minutes, 1),
                "longest_process_growth_mb": round(growth, 1),
                "growth_mb_per_hour": round(growth / minutes * 60, 1) if minutes >= 1 else None,
            }
        return report

    def run(self, minutes: float, kill_every_s: float, drain_s: float) -> dict[str, Any]:
        self.sign_in()
        subscriber_loop = asyncio.new_event_loop()
        subscriber = threading.Thread(target=lambda: subscriber_loop.run_until_complete(self._subscribe()), daemon=True)
        subscriber.start()
        workers = [
            threading.Thread(target=self._every, args=(interval, work), daemon=True)
            for interval, work in (
                (3.0, self.upload_one),
                (3.0, self.upload_one),
                (1.0, self.search_one),
                (1.0, self.search_one),
                (8.0, self.ask_one),
                (MEMORY_EVERY_S, self.sample_memory),
                (600.0, self.refresh_token),  # access tokens last 15 minutes
            )
        ]
        chaos = threading.Thread(target=self._every, args=(kill_every_s, self.kill_one), daemon=True)
        self.sample_memory()
        for thread in [*workers, chaos]:
            thread.start()
        deadline = self.started + minutes * 60
        while time.monotonic() < deadline:
            time.sleep(1)
        load_seconds = time.monotonic() - self.started
        self.stop.set()
        for thread in [*workers, chaos]:
            thread.join(120)
        self.sample_memory()
        # Every supervised replica back, then every document given its chance to finish.
        for name in list(self.launcher.processes):
            self.launcher.wait_healthy(name, timeout_s=120)
        start_stack(self.launcher.data_dir)  # a NATS node killed in the last seconds
        self.stop.clear()
        self.sign_in()
        outcome = self.drain(drain_s)
        self.stop.set()
        subscriber.join(10)
        return {
            "load_seconds": round(load_seconds),
            **outcome,
            "analysed_twice": asyncio.run(self.analysed_twice()),
            "progress_backwards": self.progress_backwards(),
            "subscription_reconnects": self.subscription_reconnects,
            "kills": self.kills,
            "restarts": dict(self.launcher.restarts),
            "operations": self.stats.summary(),
            "memory": self.memory_report(),
        }

    def drain(self, drain_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + drain_s
        pending = set(self.uploaded)
        finals: dict[str, dict[str, Any]] = {}
        lost: set[str] = set()
        while pending and time.monotonic() < deadline:
            for document_id in list(pending):
                reply = self.graphql(DOCUMENT, {"id": document_id})
                document = (reply.get("data") or {}).get("document")
                codes = [e.get("extensions", {}).get("code") for e in reply.get("errors") or []]
                if document is None and ("NOT_FOUND" in codes or not codes):  # gone, not merely unavailable
                    lost.add(document_id)
                    pending.discard(document_id)
                elif document and document["status"] in ("COMPLETED", "FAILED"):
                    finals[document_id] = document
                    self.final_at.setdefault(document_id, time.monotonic())
                    pending.discard(document_id)
            time.sleep(2)
        failed = Counter(str(d["error"]) for d in finals.values() if d["status"] == "FAILED")
        to_final = [(self.final_at[i] - self.uploaded[i]) * 1000 for i in finals if i in self.final_at]
        return {
            "documents_uploaded": len(self.uploaded),
            "documents_completed": sum(1 for d in finals.values() if d["status"] == "COMPLETED"),
            "documents_failed": sum(failed.values()),
            "failure_reasons": dict(failed),
            "documents_lost": len(lost),
            "documents_stuck": len(pending),
            "stuck_ids": sorted(pending)[:20],
            "upload_to_final": {"p50_ms": percentile(to_final, 0.5), "p95_ms": percentile(to_final, 0.95)},
        }

    async def analysed_twice(self) -> int:
        """(document, generation, task) with more than one paid model call in the ledger (answers to `ask`
        have no document, and each is a call of its own)."""
        conn = await asyncpg.connect(self.admin_url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM (SELECT 1 FROM analysis.ledger WHERE organization_id = $1 AND NOT cached "
                    "AND document_id IS NOT NULL GROUP BY document_id, generation, task HAVING count(*) > 1) AS t",
                    self.organization_id,
                )
            )
        finally:
            await conn.close()

    def progress_backwards(self) -> int:
        backwards = 0
        for events in self.events.values():
            progress = [e["progress"] for e in events]
            ranks = [ORDER.index(e["status"]) for e in events if e["status"] != "FAILED"]
            if progress != sorted(progress) or ranks != sorted(ranks):
                backwards += 1
        return backwards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--kill-every", type=float, default=120.0, help="seconds between SIGKILLs (on average)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--nats-nodes", type=int, default=3)
    parser.add_argument("--drain", type=float, default=300.0, help="seconds the documents get to finish at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from tests.platform import launcher_on_free_ports

    launcher = launcher_on_free_ports(
        Path(tempfile.mkdtemp(prefix="pmdi-soak-")),
        {
            "PMDI_LOG_LEVEL": "WARNING",
            "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000",
            "PMDI_RATE_LIMIT_PER_USER": "1000000",
            # A killed replica's messages come back within a minute rather than after the 2 and 15 minute defaults.
            "PMDI_EXTRACTION_LEASE_S": "30",
            "PMDI_ANALYSIS_ACK_WAIT_S": "60",
            "PMDI_CONSUMER_ACK_WAIT_S": "60",
        },
        replicas=args.replicas,
        nats_cluster_size=args.nats_nodes,
    )
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with launcher.running() as deployment, launcher.supervising():
        print(f"platform up: {len(launcher.processes)} service processes, {args.nats_nodes} NATS node(s)", flush=True)
        soak = Soak(launcher, deployment.gateway_urls, deployment.endpoints.database_admin_url, args.seed)
        outcome = soak.run(args.minutes, args.kill_every, args.drain)
    result = {
        "benchmark": "soak",
        "when": started,
        "machine": {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "settings": {
            "minutes": args.minutes,
            "kill_every_s": args.kill_every,
            "replicas": args.replicas,
            "nats_nodes": args.nats_nodes,
            "services": list(SERVICES),
            "seed": args.seed,
        },
        **outcome,
        # The fastest-growing replica of each service, after warm-up (None: no process lived a minute past it).
        "memory_growth_mb_per_hour": {
            service: max(
                (m["growth_mb_per_hour"] for name, m in outcome["memory"].items() if name.split("-")[0] == service),
                key=lambda growth: -1.0 if growth is None else growth,
                default=None,
            )
            for service in SERVICES
        },
        "targets_met": outcome["documents_lost"] == 0
        and outcome["documents_stuck"] == 0
        and outcome["analysed_twice"] == 0
        and outcome["progress_backwards"] == 0,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
