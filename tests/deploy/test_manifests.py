"""Specification: the compose file and the Kubernetes manifests name what the tests run.

They cannot run here (no Docker, no cluster), so they are parsed and checked
against the tested configuration instead: the nats-server files of
``deploy/nats`` (the chaos suite's cluster runs their renderer), the users of
``permissions.conf``, the streams ``lantern deploy apply`` creates, the ports,
the health endpoints the services serve, and only settings the code reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from events.subjects import Subjects
from lantern.nats_permissions import USERS, render
from lantern.natscluster import CLIENT_PORT, CLUSTER_PORT, MONITOR_PORT, default_cluster
from plumbing.messaging.streams import stream_configs

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = ("intake", "dispatch", "followup", "records")
NODES = tuple(n.name for n in default_cluster(3).nodes)


def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    """Every manifest of the kustomization, by (kind, name)."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / resource).read_text()):
            if doc:
                found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def kustomization() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    return document


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    return document


def settings() -> dict[str, str]:
    generated = next(
        g for g in kustomization()["configMapGenerator"] if g["name"] == "lantern-settings"
    )
    return dict(literal.split("=", 1) for literal in generated["literals"])


def env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


def code_reads(name: str) -> bool:
    """Some module of ours reads this environment variable."""
    for package in ("plumbing", "services", "lantern"):
        for path in (ROOT / package).rglob("*.py"):
            if f'"{name}"' in path.read_text():
                return True
    return False


# -- NATS ------------------------------------------------------------------------------------
def test_the_statefulset_runs_the_tested_cluster_files_one_per_pod() -> None:
    manifests = k8s()
    nats = manifests[("StatefulSet", "nats")]
    service = manifests[("Service", "nats")]
    assert nats["spec"]["replicas"] == len(NODES) == 3
    assert nats["spec"]["serviceName"] == "nats" == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"  # pods reachable by name: nats-0.nats...
    assert kustomization()["namespace"] == "lantern"
    for node in default_cluster(3).nodes:  # the routes the files name are the pods' names
        assert node.route_host == f"{node.name}.nats.lantern.svc.cluster.local"

    container = nats["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-1] == "/etc/nats/cluster/$(POD_NAME).conf"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"client": CLIENT_PORT, "cluster": CLUSTER_PORT, "monitor": MONITOR_PORT}
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == ports

    generated = next(g for g in kustomization()["configMapGenerator"] if g["name"] == "nats-config")
    assert set(generated["files"]) == {
        "nats/permissions.conf",
        *(f"nats/cluster/{n}.conf" for n in NODES),
    }
    config = next(v for v in nats["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
    paths = {item["key"]: item["path"] for item in config["configMap"]["items"]}
    # each file where its `include ../permissions.conf` finds the users
    assert paths == {"permissions.conf": "permissions.conf"} | {
        f"{n}.conf": f"cluster/{n}.conf" for n in NODES
    }


def test_the_nats_servers_get_a_password_for_every_user_the_permissions_name() -> None:
    manifests = k8s()
    wanted = set(re.findall(r"\$(LANTERN_NATS_\w+_PASSWORD)", render(Subjects("lantern"))))
    assert wanted == {f"LANTERN_NATS_{u.upper()}_PASSWORD" for u in USERS}
    assert set(manifests[("Secret", "nats-passwords")]["stringData"]) == wanted
    container = manifests[("StatefulSet", "nats")]["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "nats-passwords"}}]
    example = (DEPLOY / "compose" / "lantern-secrets.env.example").read_text()
    assert all(f"{name}=" in example for name in wanted)


# -- the services ----------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_twice_ready_on_readyz_as_its_own_nats_user(service: str) -> None:
    manifests = k8s()
    deployment = manifests[("Deployment", service)]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", service]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8080}]
    assert settings()["LANTERN_HTTP_PORT"] == "8080"
    assert settings()["LANTERN_HTTP_HOST"] == "0.0.0.0"  # the probe comes from outside the pod
    (nats_url,) = (e for e in container["env"] if e["name"] == "LANTERN_NATS_URL")
    key = nats_url["valueFrom"]["secretKeyRef"]
    assert key == {"name": "lantern-nats", "key": service}
    urls = manifests[("Secret", "lantern-nats")]["stringData"][service].split(",")
    assert [u.split("@")[1] for u in urls] == [f"{n}.nats:{CLIENT_PORT}" for n in NODES]
    assert all(u.startswith(f"nats://{service}:") for u in urls)  # its own user, every node
    assert {"configMapRef": {"name": "lantern-settings"}} in container["envFrom"]
    # identity tokens are verified with the public keys the JWKS setting points to
    (mount,) = container["volumeMounts"]
    assert settings()["LANTERN_JWKS"].startswith(mount["mountPath"] + "/")
    assert pod["volumes"] == [{"name": mount["name"], "configMap": {"name": "lantern-jwks"}}]
    assert {"secretRef": {"name": "lantern-keys"}} in container["envFrom"]

    served = compose()["services"][service]
    assert served["command"] == ["serve", service]
    assert served["deploy"]["replicas"] == 2
    assert "/readyz" in " ".join(served["healthcheck"]["test"])
    assert served["environment"]["LANTERN_NATS_URL"].split(",") == [
        f"nats://{service}:${{LANTERN_NATS_{service.upper()}_PASSWORD}}@{n}.nats:{CLIENT_PORT}"
        for n in NODES
    ]


def test_the_health_paths_are_the_ones_the_services_serve() -> None:
    routes = (ROOT / "plumbing" / "interface" / "process.py").read_text()
    assert 'Route("/readyz"' in routes
    assert 'Route("/healthz"' in routes


def test_streams_are_applied_once_with_three_replicas_before_the_services() -> None:
    manifests = k8s()
    job = manifests[("Job", "lantern-deploy-apply")]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["deploy", "apply"]
    assert settings()["LANTERN_STREAM_REPLICAS"] == "3"
    (url,) = (e for e in container["env"] if e["name"] == "LANTERN_NATS_URL")
    assert url["valueFrom"]["secretKeyRef"]["key"] == "operator"
    apply = compose()["services"]["deploy-apply"]
    assert apply["command"] == ["deploy", "apply"]
    for service in SERVICES:
        depends = compose()["services"][service]["depends_on"]
        assert depends["deploy-apply"] == {"condition": "service_completed_successfully"}


def test_prefix_and_partitions_are_those_the_permissions_were_generated_for() -> None:
    permissions = (DEPLOY / "nats" / "permissions.conf").read_text()
    prefix, partitions = settings()["LANTERN_PREFIX"], int(settings()["LANTERN_PARTITIONS"])
    assert permissions == render(Subjects(prefix, partitions))
    for config in stream_configs(Subjects(prefix, partitions)):  # the streams apply creates
        assert f".{config.name}" in permissions  # are the ones the users may read
    assert compose()["x-lantern"]["environment"]["LANTERN_PREFIX"] == prefix
    assert int(compose()["x-lantern"]["environment"]["LANTERN_PARTITIONS"]) == partitions


def test_compose_runs_the_same_three_cluster_files() -> None:
    services = compose()["services"]
    for node in NODES:
        assert services[node]["command"] == ["-c", f"/etc/nats/cluster/{node}.conf"]
        assert "../nats:/etc/nats:ro" in services[node]["volumes"]
        aliases = services[node]["networks"]["default"]["aliases"]
        assert f"{node}.nats.lantern.svc.cluster.local" in aliases  # the files' route names


def test_every_setting_in_the_manifests_is_one_the_code_reads() -> None:
    manifests = k8s()
    names = set(settings()) | set(manifests[("Secret", "lantern-keys")]["stringData"])
    for (kind, _), doc in manifests.items():
        if kind in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                names |= env_names(container)
    names |= set(compose()["x-lantern"]["environment"])
    unread = sorted(n for n in names if not code_reads(n))
    assert unread == []


def test_the_image_listens_where_the_probes_look() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "LANTERN_HTTP_HOST=0.0.0.0" in dockerfile
    assert "EXPOSE 8080" in dockerfile


def test_the_console_runs_once_as_the_only_issuer_with_a_key_only_it_can_read() -> None:
    manifests = k8s()
    deployment = manifests[("Deployment", "console")]
    assert deployment["spec"]["replicas"] == 1  # sessions are in memory
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two at once
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", "console"]
    assert 'console": "services.console.main"' in (ROOT / "lantern" / "services.py").read_text()
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    console_routes = (ROOT / "services" / "console" / "main.py").read_text()
    assert 'Route("/readyz"' in console_routes
    assert 'Route("/healthz"' in console_routes
    env = {e["name"]: e for e in container["env"]}
    assert env["LANTERN_NATS_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "lantern-nats",
        "key": "console",
    }
    urls = manifests[("Secret", "lantern-nats")]["stringData"]["console"].split(",")
    assert all(u.startswith("nats://console:") for u in urls)  # its own NATS user
    assert "console" in USERS
    # the issuer's key: copied by the init container where LANTERN_SIGNING_KEY points, 0600
    (init,) = pod["initContainers"]
    assert init["command"][:3] == ["install", "-m", "600"]
    assert init["command"][-1] == env["LANTERN_SIGNING_KEY"]["value"]
    private = next(v for v in pod["volumes"] if v["name"] == "private")
    assert private["emptyDir"]["medium"] == "Memory"
    signing = next(v for v in pod["volumes"] if v["name"] == "signing")
    key_secret = manifests[("Secret", signing["secret"]["secretName"])]
    assert init["command"][-2].endswith("/" + next(iter(key_secret["stringData"])))
    # only the console holds it; the services verify with the public JWKS
    for service in SERVICES:
        spec = manifests[("Deployment", service)]["spec"]["template"]["spec"]
        assert all("LANTERN_SIGNING_KEY" not in env_names(c) for c in spec["containers"])
        assert "lantern-signing-key" not in str(spec)
    # the console does not get the store's key or its database
    assert {"secretRef": {"name": "lantern-keys"}} not in container["envFrom"]
    console_settings = manifests[("Secret", "lantern-console")]["stringData"]
    assert [n for n in console_settings if not code_reads(n)] == []
