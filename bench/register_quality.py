"""The project register on documents of one project (bench/data/register, annotated before the register was built):
do mentions of one task, risk or decision join one entry, and do later documents set the right status? Then what
it makes of the AMI meeting series in ../shared/corpus/meetings/qmsum (ES2004a-d, IS1003a-d: four meetings each of
one project), and how fast its lists answer over 100,000 entries through the gateway.

- Merging: over the annotated mentions the register found, pairwise precision and recall of "these two are the same
  entry" (target >= 0.90 both); mentions it did not find are counted apart.
- Status: each annotated entry's final status against the register's (target >= 0.90).
- Versions: documentChanges of the status report's second version against the annotated changes.
- Speed: actionItems / riskRegister / decisions pages over 100,000 entries of one organization, 4 clients at once,
  p95 (target <= 50 ms), beside `me` (the gateway's cheapest authenticated query) in the same run; read once the
  seeded items' due-date alerts have been sent (the time that takes is reported as alerts_settled_s).

Usage: python bench/register_quality.py [--url http://127.0.0.1:8000] [--skip-ami] [--skip-load] [--entries 100000]
Writes bench/results/register_quality.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from bench import qmsum  # noqa: E402 - after the path set-up above
from tests.support.uploads import Watch  # noqa: E402

DATA = ROOT / "bench" / "data" / "register"
RESULTS = ROOT / "bench" / "results" / "register_quality.json"
PASSWORD = "bench-Password-2024!"
ENTRY = "id mentions { document { id title } sourceQuote }"
ITEMS = f"query($a: String) {{ actionItems(first: 200, after: $a) {{ nodes {{ {ENTRY} title owner dueDate status }} pageInfo {{ endCursor hasNextPage }} }} }}"
RISKS = f"query($a: String) {{ riskRegister(first: 200, after: $a) {{ nodes {{ {ENTRY} description severity status }} pageInfo {{ endCursor hasNextPage }} }} }}"
DECISIONS = f"query($a: String) {{ decisions(first: 200, after: $a) {{ nodes {{ {ENTRY} text madeBy }} pageInfo {{ endCursor hasNextPage }} }} }}"
CHANGES = """query($id: ID!) { documentChanges(documentId: $id) { previous { id }
  actionItemsAdded { id } actionItemsClosed { id } risksAdded { id } risksRetired { id } risksEscalated { id }
  decisionsAdded { id } } }"""
UPLOAD = "mutation($f: Upload!, $t: String, $r: ID) { uploadDocument(file: $f, title: $t, replaces: $r) { id } }"
KIND_QUERIES = {
    "action_item": ("actionItems", ITEMS),
    "risk": ("riskRegister", RISKS),
    "decision": ("decisions", DECISIONS),
}


class Gateway:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=300)
        self.token = ""

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"X-Forwarded-For": f"10.8.{random.randrange(250)}.1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        reply = self.http.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ).json()
        if reply.get("errors"):
            raise RuntimeError(reply["errors"])
        return dict(reply["data"])

    def register(self, name: str) -> str:
        query = "mutation($o: String!, $e: String!, $p: String!) { register(organizationName: $o, email: $e, password: $p) { accessToken user { organization { id } } } }"
        reply = self(query, {"o": name, "e": f"register-{uuid.uuid4().hex[:8]}@example.com", "p": PASSWORD})["register"]
        self.token = reply["accessToken"]
        return str(reply["user"]["organization"]["id"])

    def upload(self, name: str, content: bytes, replaces: str | None = None) -> str:
        """Upload and wait for the document to end; its id."""
        with Watch(self.url, self.token) as events:
            operations = {"query": UPLOAD, "variables": {"f": None, "t": name, "r": replaces}}
            reply = self.http.post(
                f"{self.url}/graphql",
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
                files={"0": (name, content, "application/octet-stream")},
                headers={"Authorization": f"Bearer {self.token}", "X-Forwarded-For": "10.8.0.1"},
            ).json()
            if reply.get("errors"):
                raise RuntimeError(reply["errors"])
            document = reply["data"]["uploadDocument"]["id"]
            started = time.monotonic()
            while not any(
                e["documentId"] == document and e["status"] in ("COMPLETED", "FAILED") for e in events.events
            ):
                if time.monotonic() - started > 600:
                    raise TimeoutError(f"{name} did not finish")
                time.sleep(0.1)
            final = events.for_document(document)[-1]
        if final["status"] != "COMPLETED":
            raise RuntimeError(f"{name} failed: {final['message']}")
        return str(document)

    def everything(self, kind: str) -> list[dict[str, Any]]:
        field, query = KIND_QUERIES[kind]
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = self(query, {"a": after})[field]
            nodes += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                return nodes
            after = page["pageInfo"]["endCursor"]


def _plain(text: str) -> str:
    return " ".join(text.split()).lower()


def evaluate(gateway: Gateway, annotations: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """Merging pairwise P/R, final status accuracy and version changes against the annotations."""
    registers = {kind: gateway.everything(kind) for kind in KIND_QUERIES}
    # Each annotated mention -> the register entry holding a mention of its document that quotes it.
    found: dict[int, str] = {}
    spurious = 0
    for kind, entries in registers.items():
        for entry in entries:
            for mention in entry["mentions"]:
                matched = [
                    i
                    for i, gold in enumerate(annotations["mentions"])
                    if gold["kind"] == kind
                    and ids[gold["document"]] == mention["document"]["id"]
                    and _plain(gold["quote"]) in _plain(mention["sourceQuote"])
                ]
                for i in matched:
                    found[i] = entry["id"]
                spurious += not matched
    gold = annotations["mentions"]
    pairs = [(a, b) for a, b in itertools.combinations(sorted(found), 2) if gold[a]["kind"] == gold[b]["kind"]]
    same_gold = {(a, b) for a, b in pairs if gold[a]["key"] == gold[b]["key"]}
    same_predicted = {(a, b) for a, b in pairs if found[a] == found[b]}
    agreed = len(same_gold & same_predicted)
    precision = agreed / len(same_predicted) if same_predicted else 1.0
    recall = agreed / len(same_gold) if same_gold else 1.0
    # Final status: the entry holding each key's last found mention.
    status_of = {e["id"]: e["status"] for entries in registers.values() for e in entries if "status" in e}
    last: dict[str, str] = {}
    for i in sorted(found):
        last[gold[i]["key"]] = found[i]
    statuses = {key: status_of.get(last[key]) if key in last else None for key in annotations["final"]}
    correct = sum(statuses[key] == expected for key, expected in annotations["final"].items())
    # Versions: the annotated keys of each change list against the keys of the entries documentChanges names.
    key_of: dict[str, set[str]] = defaultdict(set)
    for i, entry_id in found.items():
        key_of[entry_id].add(gold[i]["key"])
    [(new, old)] = annotations["replaces"].items()
    changes = gateway(CHANGES, {"id": ids[new]})["documentChanges"]
    versions = {}
    for name, expected in annotations[f"changes_{new[:2]}_against_{old[:2]}"].items():
        got = sorted({k for node in changes[name] for k in key_of.get(node["id"], {"?"})})
        versions[name] = {"expected": sorted(expected), "found": got, "equal": got == sorted(expected)}
    return {
        "annotated_mentions": len(gold),
        "mentions_found": len(found),
        "mentions_missed": [gold[i]["quote"] for i in range(len(gold)) if i not in found],
        "unannotated_mentions": spurious,
        "merge_pairs": {"annotated_same": len(same_gold), "predicted_same": len(same_predicted), "agreed": agreed},
        "merge_precision": round(precision, 3),
        "merge_recall": round(recall, 3),
        "status_accuracy": round(correct / len(annotations["final"]), 3),
        "statuses": {k: {"expected": annotations["final"][k], "found": v} for k, v in statuses.items()},
        "previous_is_the_replaced_version": changes["previous"] is not None and changes["previous"]["id"] == ids[old],
        "document_changes": versions,
        "entries": {kind: len(entries) for kind, entries in registers.items()},
    }


def annotated_series(gateway: Gateway) -> dict[str, Any]:
    annotations = json.loads((DATA / "annotations.json").read_text())
    gateway.register("Harbor")
    ids: dict[str, str] = {}
    for name in annotations["order"]:
        replaced = annotations["replaces"].get(name)
        ids[name] = gateway.upload(name, (DATA / name).read_bytes(), ids[replaced] if replaced else None)
    return evaluate(gateway, annotations, ids)


def ami_series(gateway: Gateway) -> dict[str, Any]:
    """Each AMI project's four meetings in order, into one organization each: what the register holds after."""
    meetings = {m.name: m for m in qmsum.load()}
    report = {}
    for project in ("ES2004", "IS1003"):
        gateway.register(project)
        for letter in "abcd":
            meeting = meetings[f"{project}{letter}"]
            gateway.upload(f"{meeting.name}.txt", meeting.transcript().encode())
        registers = {kind: gateway.everything(kind) for kind in KIND_QUERIES}
        report[project] = {
            kind: {
                "entries": len(entries),
                "with_several_mentions": sum(len(e["mentions"]) > 1 for e in entries),
                "across_meetings": sum(len({m["document"]["id"] for m in e["mentions"]}) > 1 for e in entries),
                "statuses": dict(sorted(Counter_(e.get("status") for e in entries).items())),
                "examples": [
                    {
                        "entry": e.get("title") or e.get("description") or e.get("text"),
                        "owner": e.get("owner") or e.get("madeBy"),
                        "status": e.get("status"),
                        "mentions": [f"{m['document']['title']}: {m['sourceQuote'][:120]}" for m in e["mentions"]],
                    }
                    for e in sorted(entries, key=lambda e: -len(e["mentions"]))[:4]
                ],
            }
            for kind, entries in registers.items()
        }
    return report


def Counter_(values: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[str(value)] += 1
    return counts


def seed(database_url: str, organization_id: str, count: int) -> float:
    """`count` register entries of one organization, each with a mention, written as the analysis role."""
    import asyncpg

    async def main() -> float:
        started = time.perf_counter()
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_org_id', $1, true)", organization_id)
                document = str(uuid.uuid4())
                rng = random.Random(7)
                owners = ["Priya", "Tom", "Ana", "Ravi", "Mei", "Owen", None]
                entries, mentions = [], []
                today = date.today()
                for n in range(count):
                    kind = ("action_item", "action_item", "risk", "decision")[n % 4]
                    entry = str(uuid.uuid4())
                    status = {
                        "action_item": rng.choice(["OPEN", "OPEN", "IN_PROGRESS", "DONE", "DROPPED"]),
                        "risk": rng.choice(["OPEN", "OPEN", "MITIGATED", "CLOSED"]),
                        "decision": "OPEN",
                    }[kind]
                    severity = rng.choice(["LOW", "MEDIUM", "HIGH", "CRITICAL"]) if kind == "risk" else None
                    due = (
                        today + timedelta(days=rng.randrange(-30, 90))
                        if kind == "action_item" and rng.random() < 0.8
                        else None
                    )
                    entries.append(
                        (
                            entry,
                            organization_id,
                            kind,
                            f"Seeded {kind} {n}",
                            rng.choice(owners) if kind == "action_item" else None,
                            due,
                            status,
                            severity,
                        )
                    )
                    mentions.append((str(uuid.uuid4()), organization_id, entry, document, 1, f"Seeded quote {n}"))
                # Row-level security refuses COPY: plain inserts, in batches.
                await conn.executemany(
                    "INSERT INTO analysis.register_entries (id, organization_id, kind, title, owner, due_date, status, "
                    "severity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    entries,
                )
                await conn.executemany(
                    "INSERT INTO analysis.register_mentions (id, organization_id, entry_id, document_id, generation, "
                    "source_quote) VALUES ($1, $2, $3, $4, $5, $6)",
                    mentions,
                )
            await conn.execute("ANALYZE analysis.register_entries")
            await conn.execute("ANALYZE analysis.register_mentions")
        finally:
            await conn.close()
        return time.perf_counter() - started

    return asyncio.run(main())


def alerts_settled(admin_url: str, quiet_s: float = 5.0, limit_s: float = 900.0) -> float:
    """Wait until the due-date scan has alerted on the seeded items and every alert has left the outbox (the
    steady state a register of this size is read in; seeding 100,000 entries at once makes thousands of items
    due in one go, and their alerts take the analysis service a minute or two). Returns the seconds waited."""
    import asyncpg

    async def main() -> float:
        started = time.perf_counter()
        conn = await asyncpg.connect(admin_url)
        try:
            last, stable_since = -1, time.perf_counter()
            while time.perf_counter() - started < limit_s:
                alerted, pending = await conn.fetchrow(
                    "SELECT (SELECT count(*) FROM analysis.register_entries WHERE overdue_alerted_at IS NOT NULL "
                    "OR due_soon_alerted_at IS NOT NULL), "
                    "(SELECT count(*) FROM analysis.outbox WHERE published_at IS NULL)"
                )
                if alerted != last or pending:
                    last, stable_since = alerted, time.perf_counter()
                elif alerted and time.perf_counter() - stable_since >= quiet_s:
                    break
                await asyncio.sleep(0.5)
        finally:
            await conn.close()
        return time.perf_counter() - started

    return asyncio.run(main())


def load(gateway: Gateway, requests_per_query: int = 200, clients: int = 4) -> dict[str, Any]:
    """p50/p95 of register pages through the gateway, `clients` at once, beside `me`."""
    queries = {
        "me": ("query { me { id } }", {}),
        "actionItems open, by due date": (
            "query { actionItems(status: [OPEN, IN_PROGRESS], first: 50) { nodes { id title owner dueDate status overdue } totalCount } }",
            {},
        ),
        "actionItems of one owner due before a date": (
            'query($d: Date) { actionItems(owner: "Priya", dueBefore: $d, first: 50) { nodes { id title dueDate } totalCount } }',
            {"d": (date.today() + timedelta(days=14)).isoformat()},
        ),
        "actionItems page 3": (None, {}),
        "riskRegister HIGH and up": (
            "query { riskRegister(minSeverity: HIGH, status: [OPEN], first: 50) { nodes { id description severity status mentions { sourceQuote } } totalCount } }",
            {},
        ),
        "decisions": ("query { decisions(first: 50) { nodes { id text madeBy } totalCount } }", {}),
    }
    first_page = gateway("query { actionItems(first: 50) { pageInfo { endCursor } } }")["actionItems"]["pageInfo"][
        "endCursor"
    ]
    second = gateway(
        "query($a: String) { actionItems(first: 50, after: $a) { pageInfo { endCursor } } }", {"a": first_page}
    )
    queries["actionItems page 3"] = (
        "query($a: String) { actionItems(first: 50, after: $a) { nodes { id title dueDate } pageInfo { hasNextPage } } }",
        {"a": second["actionItems"]["pageInfo"]["endCursor"]},
    )
    results = {}
    for name, (query, variables) in queries.items():
        assert query is not None

        async def client(count: int, query: str = query, variables: dict[str, Any] = variables) -> list[float]:
            timings = []
            async with httpx.AsyncClient(timeout=60) as http:
                for _ in range(count):
                    started = time.perf_counter()
                    reply = await http.post(
                        f"{gateway.url}/graphql",
                        json={"query": query, "variables": variables},
                        headers={
                            "Authorization": f"Bearer {gateway.token}",
                            "X-Forwarded-For": f"10.7.{random.randrange(250)}.1",
                        },
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                    assert "errors" not in reply.json(), reply.text
            return timings

        async def run_all() -> list[float]:
            per = await asyncio.gather(*(client(requests_per_query // clients) for _ in range(clients)))
            return [t for timings in per for t in timings]

        asyncio.run(run_all())  # warm caches and connections
        timings = sorted(asyncio.run(run_all()))
        results[name] = {
            "requests": len(timings),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        }
        print(name, results[name], flush=True)
    return results


@contextmanager
def platform(url: str | None) -> Iterator[tuple[str, dict[str, str], str]]:
    if url:
        yield url, {}, ""
        return
    from tests.platform import launcher_on_free_ports

    launcher = launcher_on_free_ports(
        Path(tempfile.mkdtemp(prefix="pmdi-bench-register-")),
        {
            "PMDI_LOG_LEVEL": "WARNING",
            "PMDI_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            "PMDI_RATE_LIMIT_PER_ADDRESS": "1000000",
            "PMDI_RATE_LIMIT_PER_USER": "1000000",
            # The due-date scan runs every 2 s, so the seeded items' alerts are sent before the load begins.
            "PMDI_ALERT_SCAN_INTERVAL_S": "2",
        },
    )
    with launcher.running() as deployment:
        yield deployment.gateway_url, deployment.database_urls, deployment.endpoints.database_admin_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="")
    parser.add_argument("--skip-ami", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    result: dict[str, Any] = {
        "benchmark": "register_quality",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with platform(args.url or None) as (url, database_urls, admin_url):
        gateway = Gateway(url)
        result["annotated"] = annotated_series(gateway)
        print(json.dumps(result["annotated"], indent=2), flush=True)
        if not args.skip_ami:
            result["ami"] = ami_series(gateway)
            print(json.dumps(result["ami"], indent=2), flush=True)
        if not args.skip_load and database_urls:
            organization = gateway.register("Load")
            result["load"] = {
                "entries": args.entries,
                "seed_s": round(seed(database_urls["analysis"], organization, args.entries), 1),
                "alerts_settled_s": round(alerts_settled(admin_url), 1),
            }
            result["load"]["queries"] = load(gateway)
            result["load"]["p95_target_ms"] = 50
    annotated = result["annotated"]
    result["targets"] = {
        "merge_precision_at_least_0.90": annotated["merge_precision"] >= 0.90,
        "merge_recall_at_least_0.90": annotated["merge_recall"] >= 0.90,
        "status_accuracy_at_least_0.90": annotated["status_accuracy"] >= 0.90,
    }
    if "load" in result:
        register_p95 = max(v["p95_ms"] for k, v in result["load"]["queries"].items() if k != "me")
        result["targets"]["register_queries_p95_within_50_ms"] = register_p95 <= 50
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["targets"], indent=2))


if __name__ == "__main__":
    main()
