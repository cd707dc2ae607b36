"""The Kubernetes layout in deploy/k8s, rendered the way `kubectl apply -k` renders it (kubectl's own kustomize)
and checked the way a reviewer would: every resource against the API's schemas (the custom resources against
theirs, deploy/k8s/schemas), every pod hardened and probed, every environment variable a setting its service
reads, every NetworkPolicy peer a call the service makes, every worker scaled on the consumer it really reads,
Postgres bootstrapped as devstack provisions it (run against a real Postgres), and the image free of the
development stack."""

from __future__ import annotations

import ast
import asyncio
import copy
import functools
import importlib
import json
import os
import re
import subprocess
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml
from alembic import command

from devstack.launcher import REPO_ROOT, Deployment
from devstack.provisioning import (
    LEAKPROOF_FUNCTIONS,
    SERVICE_SCHEMAS,
    load_or_create_passwords,
    role_name,
    service_url,
)
from services.common import settings as common_settings
from services.common import subjects
from services.common.migrations import alembic_config

K8S = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.37.0"
SERVICES = ("gateway", "tenancy", "ingest", "search", "analysis")
WORKERS = ("ingest", "search", "analysis")
GRPC_PORTS = {name: port for name, port in common_settings.DEFAULT_PORTS.items()}
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): K8S / "schemas" / "cluster.postgresql.cnpg.io-v1.schema.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): K8S / "schemas" / "scaledobject.keda.sh-v1alpha1.schema.yaml",
}

Resource = dict[str, Any]


@functools.cache
def _render(path: Path) -> tuple[Resource, ...]:
    kubectl = Path(sysconfig.get_path("scripts")) / "kubectl"
    result = subprocess.run([str(kubectl), "kustomize", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def rendered(overlay: str) -> tuple[Resource, ...]:
    return _render(K8S / "overlays" / overlay)


def of_kind(resources: tuple[Resource, ...], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


# --- schemas -------------------------------------------------------------------------------------------------


@functools.cache
def _k8s_definitions() -> referencing.Resource[Any]:
    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    contents = json.loads((schemas / f"v{KUBERNETES_VERSION}-local-strict" / "_definitions.json").read_text())
    return referencing.Resource.from_contents(contents)


def schema_errors(resource: Resource) -> list[str]:
    """Why the API server would refuse this resource (strictly: unknown fields too); empty when it is valid."""
    name = f"{resource['kind']}/{resource['metadata']['name']}"
    crd_schema = CRD_SCHEMAS.get((resource["apiVersion"], resource["kind"]))
    if crd_schema is None:
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            return [f"{name}: {'.'.join(map(str, error.path))}: {error.message}"]
        return []
    schema = yaml.safe_load(crd_schema.read_text())
    registry: referencing.Registry[Any] = _k8s_definitions() @ referencing.Registry()
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{name}: {'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_resource_is_valid_against_its_schema(overlay: str) -> None:
    resources = rendered(overlay)
    kinds = {r["kind"] for r in resources}
    assert {"Deployment", "Cluster", "ScaledObject", "NetworkPolicy", "PodDisruptionBudget"} <= kinds
    errors = [error for resource in resources for error in schema_errors(resource)]
    assert errors == []


def _mistakes() -> Iterator[tuple[str, Resource]]:
    resources = rendered("production")
    deployment = copy.deepcopy(of_kind(resources, "Deployment")["ingest"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    yield "misspelt probe", deployment
    cluster = copy.deepcopy(of_kind(resources, "Cluster")["pmdi-db"])
    cluster["spec"]["postgresql"]["parameters"]["max_connections"] = 400
    yield "number where postgresql.conf takes a string", cluster
    scaled = copy.deepcopy(of_kind(resources, "ScaledObject")["search"])
    scaled["spec"]["triggers"][1]["metadata"]["lagThreshold"] = 40
    yield "number in trigger metadata", scaled
    scaled = copy.deepcopy(of_kind(resources, "ScaledObject")["search"])
    scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["window"] = 60
    yield "unknown field in the HPA behaviour", scaled


@pytest.mark.parametrize(("mistake", "resource"), list(_mistakes()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_schema_check_refuses_a_resource_the_api_server_would_refuse(mistake: str, resource: Resource) -> None:
    assert schema_errors(resource), mistake


# --- pods ----------------------------------------------------------------------------------------------------


def _pod_specs(resources: tuple[Resource, ...]) -> dict[str, Resource]:
    return {
        f"{r['kind']}/{r['metadata']['name']}": r["spec"]["template"]["spec"]
        for r in resources
        if r["kind"] in ("Deployment", "Job")
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_as_non_root_on_a_read_only_root_with_resources(overlay: str) -> None:
    pods = _pod_specs(rendered(overlay))
    assert set(pods) == {f"Deployment/{s}" for s in SERVICES} | {"Job/pmdi-migrate"}
    for where, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] != 0, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod.get("initContainers", []) + pod["containers"]:
            at = f"{where} {container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, at
            assert context["allowPrivilegeEscalation"] is False, at
            assert context["capabilities"]["drop"] == ["ALL"], at
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), at
            assert "memory" in container["resources"]["limits"], at
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            # The pods' only writable place: a mount path checked here, no file of ours.
            assert mounts.get("/tmp") in tmp_volumes, f"{at}: /tmp is not a writable emptyDir"  # noqa: S108


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_probed_where_its_service_answers(overlay: str) -> None:
    resources = rendered(overlay)
    gateway_routes = set(re.findall(r'@app\.get\("([^"]+)"\)', (REPO_ROOT / "services/gateway/app.py").read_text()))
    for name, deployment in of_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, f"{name} has no {probe}"
            check = container[probe]
            if name == "gateway":
                assert check["httpGet"]["path"] in gateway_routes, f"{name} {probe}"
                assert check["httpGet"]["port"] in ports
            else:
                # The gRPC health service every service registers (services/common/grpc_server.py).
                assert check["grpc"]["port"] == ports["grpc"] == GRPC_PORTS[name], f"{name} {probe}"
        if name == "gateway":
            # Liveness must not hang on the peers: a tenancy outage would otherwise restart every gateway.
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget_and_one_autoscaler(overlay: str) -> None:
    resources = rendered(overlay)
    deployments = of_kind(resources, "Deployment")
    budgets = of_kind(resources, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        # The autoscaler owns the count: a replicas field would reset it on every apply.
        assert "replicas" not in deployment["spec"], name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets.values() if _selects(b["spec"]["selector"], labels)]
        assert len(covering) == 1, name
        assert covering[0]["spec"].get("maxUnavailable") == 1, name
    hpa_targets = [h["spec"]["scaleTargetRef"]["name"] for h in of_kind(resources, "HorizontalPodAutoscaler").values()]
    keda_targets = [s["spec"]["scaleTargetRef"]["name"] for s in of_kind(resources, "ScaledObject").values()]
    # KEDA makes its own HPA: a Deployment with both would be scaled by two controllers.
    assert sorted(hpa_targets + keda_targets) == sorted(deployments)
    assert sorted(keda_targets) == sorted(WORKERS)
    for autoscaler in [*of_kind(resources, "HorizontalPodAutoscaler").values()]:
        assert 1 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
    for scaled in of_kind(resources, "ScaledObject").values():
        assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    if overlay == "production":
        # A drain takes one pod at a time (maxUnavailable 1), so two or more keep every service up.
        minimums = [a["spec"]["minReplicas"] for a in of_kind(resources, "HorizontalPodAutoscaler").values()]
        minimums += [s["spec"]["minReplicaCount"] for s in of_kind(resources, "ScaledObject").values()]
        assert min(minimums) >= 2


# --- the JetStream consumers the workers scale on ---------------------------------------------------------------


def durable_consumers(service: str) -> dict[str, str]:
    """Each durable consumer the service's code declares (Consumer(subjects, durable, ...)) and its stream."""
    found: dict[str, str] = {}
    for path in (REPO_ROOT / "services" / service).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Consumer":
                durable = node.args[1]
                assert isinstance(durable, ast.Constant) and isinstance(durable.value, str), f"{path}: not a literal"
                stream = subjects.DOCUMENTS_STREAM
                for keyword in node.keywords:
                    if keyword.arg == "stream":
                        assert isinstance(keyword.value, ast.Attribute)
                        stream = getattr(subjects, keyword.value.attr)
                found[durable.value] = stream
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_worker_scales_on_the_lag_of_the_consumer_that_does_its_work(overlay: str) -> None:
    resources = rendered(overlay)
    work = {"ingest": "ingest-extraction", "search": "search-indexing", "analysis": "analysis-documents"}
    nats_values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    for name, scaled in of_kind(resources, "ScaledObject").items():
        (lag,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "nats-jetstream"]
        metadata = lag["metadata"]
        assert durable_consumers(name)[metadata["consumer"]] == metadata["stream"] == subjects.DOCUMENTS_STREAM
        assert metadata["consumer"] == work[name]
        host, port = metadata["natsServerMonitoringEndpoint"].split(":")
        assert host.startswith(f"nats-headless.{scaled['metadata']['namespace']}.svc")
        assert int(port) == nats_values["config"]["monitor"]["port"]
        assert int(metadata["lagThreshold"]) > 0
        assert any(t["type"] == "cpu" for t in scaled["spec"]["triggers"]), name


def test_nats_values_describe_a_three_node_jetstream_cluster_on_disk() -> None:
    values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True
    assert config["jetstream"]["fileStore"]["pvc"]["enabled"] is True
    assert config["jetstream"]["memoryStore"]["enabled"] is False
    assert values["podDisruptionBudget"]["enabled"] is True
    assert values["podDisruptionBudget"]["merge"]["spec"]["maxUnavailable"] == 1
    spread = values["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"


# --- settings ------------------------------------------------------------------------------------------------


def settings_class(service: str) -> type[common_settings.ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    cls: type[common_settings.ServiceSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


def container_env(container: Resource, config_maps: dict[str, Resource]) -> dict[str, str]:
    """The variables the container starts with: its ConfigMaps' keys and values, its secrets' names."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, "secrets are referenced key by key"
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            reference = variable["valueFrom"]
            assert set(reference) <= {"secretKeyRef", "configMapKeyRef"}, variable["name"]
            env[variable["name"]] = f"from-secret-{uuid.uuid4().hex[:6]}"
    return env


def _containers(resources: tuple[Resource, ...]) -> Iterator[tuple[str, Resource]]:
    """(service, container) for every service process: the Deployments and the migration steps."""
    for name, deployment in of_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        yield name, container
    job = of_kind(resources, "Job")["pmdi-migrate"]["spec"]["template"]["spec"]
    for container in job["initContainers"] + job["containers"]:
        yield container["name"].removeprefix("migrate-"), container


def _accepted_names(cls: type[common_settings.ServiceSettings]) -> set[str]:
    names = set()
    for field_name, field in cls.model_fields.items():
        names.add(f"PMDI_{field_name.upper()}")
        choices = getattr(field.validation_alias, "choices", None) or []
        names.update(str(choice) for choice in choices)
    return names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_is_a_setting_of_its_service_and_nothing_required_is_missing(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(overlay)
    config_maps = of_kind(resources, "ConfigMap")
    seen = set()
    for service, container in _containers(resources):
        seen.add(service)
        cls = settings_class(service)
        env = container_env(container, config_maps)
        unknown = sorted(set(env) - _accepted_names(cls))
        assert unknown == [], f"{service} is given variables its settings do not read: {unknown}"
        # Parsed as the service parses them at start: every value has its type, every required one is there.
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith("PMDI_")]:
                patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            settings = cls()
        assert settings.missing() == [], service
        if container["args"][-1] == "serve":
            assert settings.database_url.startswith("from-secret"), service
            if service != "gateway":
                (port,) = container["ports"]
                assert settings.grpc_port == port["containerPort"] == GRPC_PORTS[service]
            _assert_peers_resolve(settings, resources)
    assert seen == set(SERVICES)


def _assert_peers_resolve(settings: common_settings.ServiceSettings, resources: tuple[Resource, ...]) -> None:
    """Each peer address names a Service of this layout on the port the peer listens on."""
    services = of_kind(resources, "Service")
    for peer in GRPC_PORTS:
        address = getattr(settings, f"{peer}_addr", None)
        if address is None:
            continue
        host, port = address.rsplit(":", 1)
        service_ports = [p["port"] for p in services[peer]["spec"]["ports"]]
        assert host == peer and service_ports == [int(port)] == [GRPC_PORTS[peer]], address


# Room for the operator's and a person's connections besides the services' (CloudNativePG reserves some too).
RESERVED_CONNECTIONS = 20


def _max_replicas(resources: tuple[Resource, ...], deployment: str) -> int:
    for hpa in of_kind(resources, "HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == deployment:
            return int(hpa["spec"]["maxReplicas"])
    for scaled in of_kind(resources, "ScaledObject").values():
        if scaled["spec"]["scaleTargetRef"]["name"] == deployment:
            return int(scaled["spec"]["maxReplicaCount"])
    raise AssertionError(f"{deployment} has no autoscaler")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_replica_at_the_autoscalers_maxima_gets_its_database_connections(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = rendered(overlay)
    config_maps = of_kind(resources, "ConfigMap")
    # The gateway's readiness and rate limits use an asyncpg pool of its own size (services/gateway/app.py).
    (gateway_pool,) = re.findall(
        r"create_pool\(settings\.database_url, min_size=\d+, max_size=(\d+)\)",
        (REPO_ROOT / "services/gateway/app.py").read_text(),
    )
    needed = RESERVED_CONNECTIONS
    for name, deployment in of_kind(resources, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        with monkeypatch.context() as patch:
            for variable in [n for n in os.environ if n.startswith("PMDI_")]:
                patch.delenv(variable)
            for variable, value in container_env(container, config_maps).items():
                patch.setenv(variable, value)
            settings = settings_class(name)()
        per_replica = int(gateway_pool) if name == "gateway" else settings.db_pool_size + settings.db_max_overflow
        needed += per_replica * _max_replicas(resources, name)
    allowed = int(_cluster(overlay)["spec"]["postgresql"]["parameters"]["max_connections"])
    assert needed <= allowed, f"{needed} connections at most, Postgres allows {allowed}"


# --- network policies ----------------------------------------------------------------------------------------

PEER_MIXINS: dict[str, type] = {
    "tenancy": common_settings.TenancyPeer,
    "ingest": common_settings.IngestPeer,
    "search": common_settings.SearchPeer,
    "analysis": common_settings.AnalysisPeer,
}


def expected_calls(service: str) -> set[str]:
    """What a service connects to, from its settings: every one Postgres, NATS and DNS; its gRPC peers; S3 if it
    keeps objects."""
    cls = settings_class(service)
    calls = {"postgres", "nats", "dns"}
    calls |= {peer for peer, mixin in PEER_MIXINS.items() if issubclass(cls, mixin)}
    if issubclass(cls, common_settings.StorageSettings):
        calls.add("s3")
    return calls


def _selects(selector: Resource, labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _destination(policy: Resource, peer: Resource, ports: list[Resource]) -> str:
    """Name what a NetworkPolicy peer is: a service of ours (on its port), Postgres, NATS, DNS or the S3 store."""
    numbers = sorted(p["port"] for p in ports)
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    if "app" in pods:
        assert numbers == [GRPC_PORTS[pods["app"]]], f"{policy['metadata']['name']}: {pods['app']} on {numbers}"
        return str(pods["app"])
    if pods == {"cnpg.io/cluster": "pmdi-db"}:
        assert numbers == [5432]
        return "postgres"
    if pods == {"app.kubernetes.io/name": "nats"}:
        assert numbers == [4222]
        return "nats"
    if pods == {"k8s-app": "kube-dns"}:
        assert numbers == [53, 53]
        return "dns"
    # Anything else leaves the namespace; only the object store's policy may say where.
    assert policy["metadata"]["name"] == "pmdi-object-store", peer
    return "s3"


def allowed_egress(resources: tuple[Resource, ...], app: str) -> set[str]:
    destinations = set()
    for policy in of_kind(resources, "NetworkPolicy").values():
        if _selects(policy["spec"]["podSelector"], {"app": app}):
            assert "Egress" in policy["spec"]["policyTypes"]
            for rule in policy["spec"].get("egress", []):
                destinations |= {_destination(policy, peer, rule["ports"]) for peer in rule["to"]}
    return destinations


def allowed_callers(resources: tuple[Resource, ...], pod_labels: dict[str, str]) -> set[str]:
    """The apps of ours that may open a connection to these pods."""
    callers = set()
    for policy in of_kind(resources, "NetworkPolicy").values():
        if _selects(policy["spec"]["podSelector"], pod_labels):
            for rule in policy["spec"].get("ingress", []):
                for peer in rule["from"]:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        candidates = [*SERVICES, "pmdi-migrate", "other"]
                        callers |= {c for c in candidates if _selects(peer["podSelector"], {"app": c})}
    return callers


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_calls_each_service_makes(overlay: str) -> None:
    resources = rendered(overlay)
    for service in SERVICES:
        assert allowed_egress(resources, service) == expected_calls(service), service
    assert allowed_egress(resources, "pmdi-migrate") == {"postgres", "dns"}
    for service in GRPC_PORTS:
        callers = {s for s in SERVICES if service in expected_calls(s)}
        assert allowed_callers(resources, {"app": service}) == callers, service
    # The gateway is reached from the ingress controller's namespace only, no pod of ours calls it.
    assert allowed_callers(resources, {"app": "gateway"}) == set()
    assert allowed_callers(resources, {"cnpg.io/cluster": "pmdi-db"}) == {*SERVICES, "pmdi-migrate"}
    assert allowed_callers(resources, {"app.kubernetes.io/name": "nats"}) == set(SERVICES)


def test_the_peers_in_the_settings_are_the_calls_in_the_code() -> None:
    """The policies follow the settings' peer mixins; these are what the code dials."""
    dialled = {
        "gateway": (REPO_ROOT / "services/gateway/app.py").read_text(),
        "analysis": (REPO_ROOT / "services/analysis/service.py").read_text(),
    }
    for service in SERVICES:
        cls = settings_class(service)
        for peer, mixin in PEER_MIXINS.items():
            if not issubclass(cls, mixin):
                continue
            if peer == "tenancy":
                # Every service that verifies tokens fetches tenancy's keys (services/common/tenancy_keys.py).
                assert "settings.tenancy_addr" in (REPO_ROOT / "services/common/tenancy_keys.py").read_text()
            else:
                assert f"settings.{peer}_addr" in dialled.get(service, ""), f"{service} never dials {peer}"


# --- Postgres ------------------------------------------------------------------------------------------------


def _cluster(overlay: str) -> Resource:
    return of_kind(rendered(overlay), "Cluster")["pmdi-db"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_role_is_managed_with_the_secret_its_service_connects_with(overlay: str) -> None:
    resources = rendered(overlay)
    roles = {r["name"]: r for r in _cluster(overlay)["spec"]["managed"]["roles"]}
    assert set(roles) == {role_name(s) for s in SERVICE_SCHEMAS}
    deployments = of_kind(resources, "Deployment")
    for service in SERVICE_SCHEMAS:
        role = roles[role_name(service)]
        assert role["login"] is True and role["ensure"] == "present"
        assert role["superuser"] is False and role["bypassrls"] is False
        assert role["createdb"] is False and role["createrole"] is False
        (container,) = deployments[service]["spec"]["template"]["spec"]["containers"]
        (url,) = [e for e in container["env"] if e["name"] == "PMDI_DATABASE_URL"]
        assert url["valueFrom"]["secretKeyRef"]["name"] == role["passwordSecret"]["name"]
    # The bootstrap marks exactly the functions devstack marks.
    statements = _cluster(overlay)["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    marked = {m for s in statements for m in re.findall(r"ALTER FUNCTION (.+) LEAKPROOF", s)}
    assert marked == set(LEAKPROOF_FUNCTIONS)


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def bootstrapped(deployment: Deployment) -> Iterator[tuple[str, str]]:
    """A new database in the platform's Postgres, given only the Cluster's bootstrap SQL; (admin URL, its name)."""
    admin = deployment.endpoints.database_admin_url
    name = f"pmdi_cnpg_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}"'))
    try:
        scratch = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        statements = _cluster("production")["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
        asyncio.run(_execute(scratch, *statements))
        yield scratch, name
    finally:
        asyncio.run(_execute(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_the_postgres_bootstrap_provisions_as_devstack_does(bootstrapped: tuple[str, str]) -> None:
    scratch, _ = bootstrapped

    async def inspect() -> dict[str, Any]:
        conn = await asyncpg.connect(scratch)
        try:
            return {
                "extensions": {r["extname"] for r in await conn.fetch("SELECT extname FROM pg_extension")},
                "owners": dict(
                    await conn.fetch(
                        "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)",
                        list(SERVICE_SCHEMAS),
                    )
                ),
                "roles": {
                    r["rolname"]: (r["rolsuper"], r["rolbypassrls"], r["rolcreatedb"], r["rolcreaterole"])
                    for r in await conn.fetch("SELECT * FROM pg_roles WHERE rolname LIKE 'pmdi\\_%'")
                },
                "leakproof": [
                    await conn.fetchval("SELECT proleakproof FROM pg_proc WHERE oid = $1::regprocedure", f)
                    for f in LEAKPROOF_FUNCTIONS
                ],
                "create_in_public": [
                    await conn.fetchval("SELECT has_schema_privilege($1, 'public', 'CREATE')", role_name(s))
                    for s in SERVICE_SCHEMAS
                ],
                "connect": [
                    await conn.fetchval(
                        "SELECT has_database_privilege($1, current_database(), 'CONNECT')", role_name(s)
                    )
                    for s in SERVICE_SCHEMAS
                ],
                "others_schemas": [
                    await conn.fetchval("SELECT has_schema_privilege($1, $2, 'USAGE')", role_name(a), b)
                    for a in SERVICE_SCHEMAS
                    for b in SERVICE_SCHEMAS
                    if a != b
                ],
            }
        finally:
            await conn.close()

    found = asyncio.run(inspect())
    assert {"vector", "pg_trgm", "btree_gin"} <= found["extensions"]
    assert found["owners"] == {s: role_name(s) for s in SERVICE_SCHEMAS}
    for service in SERVICE_SCHEMAS:
        assert found["roles"][role_name(service)] == (False, False, False, False)
    assert found["leakproof"] == [True] * len(LEAKPROOF_FUNCTIONS)
    assert found["create_in_public"] == [False] * len(SERVICE_SCHEMAS)
    assert found["connect"] == [True] * len(SERVICE_SCHEMAS)
    assert not any(found["others_schemas"])


@pytest.mark.parametrize("service", SERVICE_SCHEMAS)
def test_each_service_migrates_as_its_own_role_on_the_bootstrapped_database(
    bootstrapped: tuple[str, str], deployment: Deployment, service: str
) -> None:
    """What the migration Job does after the bootstrap: the roles' passwords are the platform's (set on the
    shared roles by devstack, as the operator sets them from the Secrets)."""
    scratch, _ = bootstrapped
    password = load_or_create_passwords(Path(deployment.data_dir) / "db-credentials.json")[service]
    url = service_url(scratch, service, password)
    config = alembic_config(
        migrations_dir=REPO_ROOT / "services" / service / "migrations", database_url=url, schema=service
    )
    command.upgrade(config, "head")

    async def tables() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = $1", service))
        finally:
            await conn.close()

    assert asyncio.run(tables()) > 1


# --- the image -----------------------------------------------------------------------------------------------


def test_the_image_carries_no_development_stack() -> None:
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE)
    assert copied and not [c for c in copied if c.split("/")[0] in {"devstack", "tests", "bench", "."}]
    extras = re.findall(r"pip install -e '\.\[([^\]]*)\]'", dockerfile)
    assert extras == ["embeddings"]
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {"devstack", "tests", "bench", "services/*/tests"} <= set(ignored)
    # Nothing the services run imports the development stack, or the image could not start.
    for path in (REPO_ROOT / "services").rglob("*.py"):
        if "tests" in path.relative_to(REPO_ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not [n for n in names if n.split(".")[0] == "devstack"], path
