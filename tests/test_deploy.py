"""deploy/ checked against the code. Neither Docker nor a Kubernetes cluster runs here, so the
Compose file, the Kubernetes manifests, the Dockerfile and nginx.conf are read (PyYAML) and held
to what the code knows: every BABELROOM_* variable is a setting (chat/config.py) whose value
loads, every command line parses with `babelroom`'s own parser, the probes ask paths the node
answers, ports and names agree from the Dockerfile to the Ingress, and the image installs what
`make install` does. Then the Compose file's services run as local processes (the same commands
and environment; redis-server instead of the image; only addresses and directories made local)
and a message crosses two nodes and is translated by the worker.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client
import yaml

from chat.cli import build_parser
from chat.config import load_config, setting_variables, unknown_variables
from chat.translation_tier import job_keys
from tests.client import Client
from tests.nodes import REPO, SECRET, NodeProcess, RedisServer, WorkerProcess
from web.api import api_routes

DEPLOY = REPO / "deploy"
IMAGE = "babelroom:latest"
SERVED_PATHS = {getattr(route, "path", "") for route in api_routes()}
SAMPLES = {"BABELROOM_AUTH_SECRET": SECRET}  # what ${VAR:?...} in the Compose file stands for here
COMMANDS = {"serve", "translate-worker"}


# reading deploy/ -------------------------------------------------------------------------
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return documents


def of_kind(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [doc for doc in manifests() if doc["kind"] == kind and name in (None, doc["metadata"]["name"])]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def image_env() -> dict[str, str]:
    """The ENV the Dockerfile sets (KEY=VALUE pairs)."""
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile():
        if instruction == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def image_entrypoint() -> list[str]:
    [entrypoint] = [yaml.safe_load(arguments) for instruction, arguments in dockerfile() if instruction == "ENTRYPOINT"]
    return list(entrypoint)


def interpolate(value: Any) -> str:
    """Compose's ${NAME}, ${NAME:?message} and ${NAME:-default}, with this test's samples."""

    def sample(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return SAMPLES.get(name, default if match.group(2) == ":-" else "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-?])([^}]*))?\}", sample, str(value))


def compose_services() -> Iterator[tuple[str, dict[str, Any]]]:
    """The services that run the babelroom image."""
    for name, service in compose()["services"].items():
        if service.get("image") == IMAGE:
            yield name, service


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    """What a service's process sees: the image's ENV, then the service's environment."""
    return {**image_env(), **{key: interpolate(value) for key, value in service.get("environment", {}).items()}}


def kubernetes_containers() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container running the babelroom image."""
    for workload in [*of_kind("Deployment"), *of_kind("StatefulSet")]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            if container["image"] == IMAGE:
                yield workload, container


def kubernetes_env(container: dict[str, Any]) -> dict[str, str]:
    """The image's ENV, the ConfigMaps it takes whole, then its own env (a value from a Secret or
    a field becomes a sample: the secret, or the pod's name)."""
    env = dict(image_env())
    for source in container.get("envFrom", []):
        [config_map] = of_kind("ConfigMap", source["configMapRef"]["name"])
        env.update({key: str(value) for key, value in config_map["data"].items()})
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
        elif "secretKeyRef" in variable["valueFrom"]:
            env[variable["name"]] = SECRET
        else:
            env[variable["name"]] = "babelroom-node-7d9f-abcde"
    return env


def every_env() -> list[tuple[str, dict[str, str]]]:
    return [
        *((f"compose {name}", compose_env(service)) for name, service in compose_services()),
        *(
            (f"kubernetes {workload['metadata']['name']}", kubernetes_env(container))
            for workload, container in kubernetes_containers()
        ),
    ]


def every_command() -> list[tuple[str, list[str]]]:
    """Each babelroom process's arguments after the entrypoint (`babelroom`)."""
    commands = [(f"compose {name}", list(service["command"])) for name, service in compose_services()]
    commands += [
        (f"kubernetes {workload['metadata']['name']}", list(container["args"]))
        for workload, container in kubernetes_containers()
    ]
    default = [yaml.safe_load(arguments) for instruction, arguments in dockerfile() if instruction == "CMD"]
    return [*commands, ("Dockerfile CMD", list(default[0]))]


# the checks ---------------------------------------------------------------------------------
def test_deploy_files_name_only_real_settings_and_their_values_load(tmp_path):
    named = set()
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile", DEPLOY / "nginx.conf"]:  # comments too
        named |= {(path.name, name) for name in re.findall(r"BABELROOM_[A-Z0-9_]+", path.read_text(encoding="utf-8"))}
    assert named, "no settings found in deploy/"
    known = set(setting_variables())
    assert [(path, name) for path, name in sorted(named) if name not in known] == []

    for where, env in every_env():
        assert unknown_variables(env) == [], where
        config = load_config(environ=env)  # raises ConfigError naming a value that does not load
        assert config.backend.kind == "redis" and config.translation.mode == "workers", where
        assert config.server.port == 8000 and config.server.host == "0.0.0.0", where


def test_every_command_is_a_babelroom_command_with_valid_options():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert image_entrypoint() == ["babelroom"] and "babelroom" in scripts
    parser = build_parser()
    seen = set()
    for where, arguments in every_command():
        try:
            parsed = parser.parse_args(arguments)
        except SystemExit:
            pytest.fail(f"{where}: `babelroom {' '.join(arguments)}` does not parse")
        assert parsed.command in COMMANDS, where
        seen.add(parsed.command)
        # the options the comments suggest adding parse too
    assert seen == COMMANDS
    parser.parse_args(["translate-worker", "--pairs", "en-es,es-en"])


def test_ports_probes_and_names_agree_from_the_image_to_the_load_balancer():
    port = int(image_env()["BABELROOM_SERVER_PORT"])
    assert ("EXPOSE", str(port)) in dockerfile()

    # Compose: the node's healthcheck asks a path the node answers, on its port; nginx proxies to it
    services = compose()["services"]
    check = " ".join(services["node"]["healthcheck"]["test"])
    [(check_port, check_path)] = re.findall(r"http://127\.0\.0\.1:(\d+)(/[a-z]+)", check)
    assert (int(check_port), check_path) == (port, "/healthz") and check_path in SERVED_PATHS
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.findall(r"server\s+([a-z-]+):(\d+);", nginx) == [("node", str(port))]
    [listen] = re.findall(r"listen\s+(\d+);", nginx)
    assert services["lb"]["ports"] == [f"{listen}:{listen}"]
    assert services["lb"]["volumes"] == ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]
    for name, service in compose_services():
        url = compose_env(service)["BABELROOM_BACKEND_REDIS_URL"]
        host, redis_port = re.findall(r"redis://([a-z-]+):(\d+)", url)[0]
        assert host in services and redis_port == "6379", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        for volume in service.get("volumes", []):  # a volume holds something the process reads or writes
            target = volume.split(":")[1]
            assert target in compose_env(service).values(), f"{name}: nothing uses the volume at {target}"

    # Kubernetes: probes on the node's port and paths; Service, Ingress and Redis names resolve
    [(deployment, node)] = [(w, c) for w, c in kubernetes_containers() if c["args"][0] == "serve"]
    ports = {entry["name"]: entry["containerPort"] for entry in node["ports"]}
    assert ports == {"http": port}
    probe = node["readinessProbe"]["httpGet"]
    assert probe["path"] in SERVED_PATHS and probe["port"] in ports
    assert node["livenessProbe"]["tcpSocket"]["port"] in ports
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    [service] = of_kind("Service", "babelroom")
    assert service["spec"]["selector"] == labels
    assert [entry["targetPort"] for entry in service["spec"]["ports"]] == ["http"]
    [ingress] = of_kind("Ingress")
    backends = [path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert backends == [{"name": "babelroom", "port": {"name": "http"}}]
    env = kubernetes_env(node)
    redis_host, redis_port = re.findall(r"redis://([a-z-]+):(\d+)", env["BABELROOM_BACKEND_REDIS_URL"])[0]
    [redis_service] = of_kind("Service", redis_host)
    [redis_set] = of_kind("StatefulSet", redis_host)
    assert redis_service["spec"]["selector"] == redis_set["spec"]["template"]["metadata"]["labels"]
    assert int(redis_port) in [entry["port"] for entry in redis_service["spec"]["ports"]]
    # the Redis Cluster alternative (a comment in the ConfigMap) names a pod of the cluster's StatefulSet
    text = (DEPLOY / "kubernetes" / "babelroom.yaml").read_text(encoding="utf-8")
    [(pod, headless)] = re.findall(r"redis://([a-z-]+-0)\.([a-z-]+):6379", text)
    [cluster_set] = of_kind("StatefulSet", pod.removesuffix("-0"))
    assert cluster_set["spec"]["serviceName"] == headless and of_kind("Service", headless)
    assert of_kind("Service", headless)[0]["spec"]["clusterIP"] == "None"


def test_the_image_installs_what_make_install_does():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    [argos] = re.findall(r"^ARGOSTRANSLATE := (\S+)$", makefile, flags=re.MULTILINE)
    runs = " ".join(arguments for instruction, arguments in dockerfile() if instruction == "RUN")
    assert "pip install --no-cache-dir -e ." in runs  # editable: config.toml is read from the source tree
    assert f"--no-deps {argos}" in runs
    build_deps = re.findall(r"for pkg in ([a-z0-9+ -]+); do", (REPO / ".ci" / "build-deps").read_text(encoding="utf-8"))
    system_deps = (REPO / ".ci" / "system-deps").read_text(encoding="utf-8")
    apertium = set(re.findall(r"\bapertium(?:-[a-z]+-[a-z]+)?\b", system_deps))
    for package in {*build_deps[0].split(), *apertium}:
        assert package in runs.split(), f"the image lacks {package}"
    packages = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    copied = {
        source for instruction, arguments in dockerfile() if instruction == "COPY" for source in arguments.split()[:-1]
    }  # the last word is the destination
    assert {package.split(".")[0] for package in packages} | {"pyproject.toml", "config.toml"} <= copied


# the Compose services, run here as processes ---------------------------------------------
def local(env: dict[str, str], workdir: Path, redis: RedisServer) -> dict[str, str]:
    """The service's environment with what only a container has made local: the Redis address,
    127.0.0.1 instead of 0.0.0.0, directories under the test's own, and no downloads."""
    changed = {
        **env,
        "BABELROOM_BACKEND_REDIS_URL": re.sub(
            r"redis://[a-z-]+:6379", f"redis://127.0.0.1:{redis.port}", env["BABELROOM_BACKEND_REDIS_URL"]
        ),
        "BABELROOM_SERVER_HOST": "127.0.0.1",
        "BABELROOM_TRANSLATION_INSTALL": "",
    }
    for key, value in env.items():
        if value.startswith("/data"):
            changed[key] = str(workdir / value.removeprefix("/"))
    return changed


def _status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return int(answer.status)


@pytest.mark.redis
async def test_the_compose_services_run_as_local_processes(tmp_path):
    services = compose()["services"]
    redis_command = services["redis"]["command"]
    assert redis_command[0] == "redis-server"
    redis = RedisServer(tmp_path / "redis", extra=tuple(redis_command[1:]))  # the Compose file's options last
    redis.start()
    node_service, worker_service = services["node"], services["translate-worker"]
    assert node_service["command"][0] == "serve" and worker_service["command"][0] == "translate-worker"
    nodes = [
        NodeProcess(
            name,
            tmp_path / name,
            redis_url=local(compose_env(node_service), tmp_path / name, redis)["BABELROOM_BACKEND_REDIS_URL"],
            env={**local(compose_env(node_service), tmp_path / name, redis), "BABELROOM_SERVER_NODE_ID": name},
            args=tuple(node_service["command"][1:]),
        )
        for name in ("node-1", "node-2")
    ]
    worker_env = local(compose_env(worker_service), tmp_path / "worker", redis)
    worker = WorkerProcess(
        "worker-1",
        tmp_path / "worker",
        redis_url=worker_env["BABELROOM_BACKEND_REDIS_URL"],
        env=worker_env,
        args=tuple(worker_service["command"][1:]),
    )
    (tmp_path / "worker").mkdir()
    worker.start()  # not awaited: as under Compose, the message may be sent before the worker advertises
    try:
        for node in nodes:
            (tmp_path / node.node_id).mkdir()
            await asyncio.to_thread(node.start)
        # the healthcheck command of the Compose file, pointed at this node's port
        check = [
            sys.executable if part == "python3" else part.replace(":8000/", f":{nodes[0].port}/")
            for part in node_service["healthcheck"]["test"][1:]
        ]
        assert (await asyncio.to_thread(subprocess.run, check, timeout=30, check=False)).returncode == 0
        [probe] = [c["readinessProbe"]["httpGet"]["path"] for _, c in kubernetes_containers() if "readinessProbe" in c]
        assert await asyncio.to_thread(_status, nodes[1].url + probe) == 200

        reader = await Client.connect(nodes[1].ws_url)
        await reader.auth(nodes[1].token("Lucia", user_id="u_lucia", lang="es"))
        await reader.join("plenary")
        sender = await Client.connect(nodes[0].ws_url)
        await sender.auth(nodes[0].token("Ada", user_id="u_ada", lang="en"))
        await sender.join("plenary")
        ack = await sender.say("plenary", "Good morning, everyone.")
        await reader.expect("message", id=ack["id"], timeout=10)  # crossed from node-1 to node-2
        translation = await reader.expect("translation", id=ack["id"], lang="es", timeout=60)
        assert translation["text"] == "Buenos días, todo el mundo."  # by the worker: nodes load no model
        keys = job_keys(load_config(environ=worker_env).backend)
        with redis_client.Redis(host="127.0.0.1", port=redis.port, decode_responses=True) as client:
            assert client.smembers(keys.streams) == {keys.stream("en", "es")}  # it went through the queue
        assert "Traceback" not in worker.log() and all("Traceback" not in node.log() for node in nodes)
        await reader.close()
        await sender.close()
    finally:
        worker.stop()
        for node in nodes:
            node.stop()
        redis.stop()
