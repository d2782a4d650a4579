"""deploy/k8s/: the Kubernetes manifests of the Locust master/worker pattern, tested without a cluster.

What can be proven here is: every document is valid Kubernetes (against the OpenAPI schemas,
offline), the manifests agree with each other (replicas, Service, ConfigMap files, ports), and the
master's and workers' own ``command`` + ``args`` run as separate processes and produce a verdict.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from slogate.target import ReferenceTarget
from tests.conftest import REPO
from tests.reliability.helpers import (
    kill_tree,
    listening_addresses,
    read_json,
    recorded_requests,
    served_requests,
    wait_for,
)
from tests.target.target_helpers import unused_port

MANIFESTS = REPO / "deploy" / "k8s"
MANIFEST_FILES = ("configmap.yaml", "master.yaml", "worker.yaml")
KUBERNETES_VERSION = "1.35"
"""A recent release that kubernetes-validate ships schemas for (pinned: the result must not drift)."""

Manifest = dict[str, Any]


@cache
def documents(file_name: str) -> tuple[Manifest, ...]:
    """Every non-empty YAML document of one manifest file."""
    text = (MANIFESTS / file_name).read_text(encoding="utf-8")
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def the(kind: str) -> Manifest:
    """The one document of that kind across the manifests (a deep copy: tests may change it)."""
    found = [doc for name in MANIFEST_FILES for doc in documents(name) if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in {MANIFESTS}, found {len(found)}"
    return copy.deepcopy(found[0])


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: Manifest) -> Manifest:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['kind']} should run one container"
    container: Manifest = containers[0]
    return container


def flag_values(args: Sequence[str]) -> dict[str, str | None]:
    """``--name=value`` (or bare ``--name``) arguments by name; every manifest flag uses that form."""
    values: dict[str, str | None] = {}
    for arg in args:
        assert arg.startswith("-"), f"positional argument {arg!r}: write flags as --name=value"
        name, equals, value = arg.partition("=")
        values[name] = value if equals else None
    return values


def flag(workload: Manifest, name: str) -> str | None:
    return flag_values(only_container(workload)["args"]).get(name)


def port_named(container: Manifest, name: str) -> int:
    ports = {port["name"]: int(port["containerPort"]) for port in container.get("ports", [])}
    assert name in ports, f"container {container['name']} has no port named {name!r}: {ports}"
    return ports[name]


@cache
def locust_help() -> str:
    """``locust --help``, from a child process: importing locust here would monkey-patch this pytest
    process with gevent."""
    return subprocess.run([sys.executable, "-m", "locust", "--help"], capture_output=True,
                          text=True, timeout=30, check=True).stdout


def locust_default_port(flag_name: str) -> int:
    """The default Locust documents for a port flag."""
    found = re.search(re.escape(flag_name) + r" <port number>\s+[^-]*?Defaults to (\d+)\.", locust_help())
    assert found, f"locust --help documents no default for {flag_name}"
    return int(found.group(1))


# --- schema ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", MANIFEST_FILES)
def test_every_document_is_valid_kubernetes(file_name: str) -> None:
    docs = documents(file_name)
    assert docs, f"{file_name} holds no document"
    for doc in docs:
        # strict: an unknown field is an error (as `kubectl apply --validate=strict` makes it), not
        # silently dropped. A kind without a schema raises SchemaNotFoundError, so it fails too.
        validated = kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert validated == KUBERNETES_VERSION


def _replicas_as_word(deployment: Manifest) -> None:
    deployment["spec"]["replicas"] = "four"


def _unknown_container_field(deployment: Manifest) -> None:
    only_container(deployment)["cpuLimit"] = 1


def _port_as_text(deployment: Manifest) -> None:
    only_container(deployment)["ports"] = [{"name": "rpc", "containerPort": "five"}]


def _no_selector(deployment: Manifest) -> None:
    del deployment["spec"]["selector"]


@pytest.mark.parametrize(
    ("break_it", "error_at"),
    [(_replicas_as_word, "spec.replicas"),
     (_unknown_container_field, "spec.template.spec.containers.0"),
     (_port_as_text, "spec.template.spec.containers.0.ports.0.containerPort"),
     (_no_selector, "spec")],
    ids=["replicas-four", "unknown-container-field", "port-as-text", "no-selector"],
)
def test_a_broken_copy_is_rejected(break_it: Callable[[Manifest], None], error_at: str) -> None:
    """The schema check can fail: each deliberate break of the worker Deployment is caught, where it is."""
    deployment = the("Deployment")
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)  # whole, it passes
    break_it(deployment)
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    assert ".".join(map(str, caught.value.path)) == error_at, caught.value.message


# --- consistency ----------------------------------------------------------------------------------


def test_worker_replicas_equal_the_masters_expected_workers() -> None:
    expected = flag(the("Job"), "--expect-workers")
    assert expected is not None, "the master must wait for its workers (--expect-workers)"
    assert the("Deployment")["spec"]["replicas"] == int(expected)


def test_workers_reach_the_master_through_its_service() -> None:
    service, job, deployment = the("Service"), the("Job"), the("Deployment")
    assert "--worker" in only_container(deployment)["args"]
    assert "--master" in only_container(job)["args"]
    assert flag(deployment, "--master-host") == service["metadata"]["name"]

    # The port the workers dial (theirs, or Locust's default) is the Service's, which forwards to
    # the port the master listens on (its own, or Locust's default), which its container declares.
    worker_dials = int(flag(deployment, "--master-port") or locust_default_port("--master-port"))
    master_listens = int(flag(job, "--master-bind-port") or locust_default_port("--master-bind-port"))
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == worker_dials
    target_port = service_port["targetPort"]
    if isinstance(target_port, str):  # a named port
        target_port = port_named(only_container(job), target_port)
    assert target_port == master_listens == port_named(only_container(job), "locust-rpc")

    # The Service selects the master's pod, and not the workers'.
    selector = service["spec"]["selector"].items()
    assert selector <= job["spec"]["template"]["metadata"]["labels"].items()
    assert not selector <= deployment["spec"]["template"]["metadata"]["labels"].items()
    # The Deployment manages the pods it creates.
    assert (deployment["spec"]["selector"]["matchLabels"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items())


def configmap_source_files() -> tuple[str, list[Path]]:
    """The ConfigMap name and the repository files its comment says to create it from."""
    text = (MANIFESTS / "configmap.yaml").read_text(encoding="utf-8")
    command = re.search(r"kubectl create configmap (\S+)((?:\s*\\?\s*#?\s*--from-file=\S+)+)", text)
    assert command, "configmap.yaml should say how to create it (kubectl create configmap ...)"
    files = re.findall(r"--from-file=(\S+)", command.group(2))
    return command.group(1), [REPO / file for file in files]


def scenario_mount(workload: Manifest, configmap_name: str) -> PurePosixPath:
    """Where the ConfigMap is mounted in this workload's container."""
    volumes = [v["name"] for v in pod_spec(workload)["volumes"]
               if v.get("configMap", {}).get("name") == configmap_name]
    assert len(volumes) == 1, f"{workload['kind']} should mount ConfigMap {configmap_name} once"
    mounts = [m["mountPath"] for m in only_container(workload)["volumeMounts"] if m["name"] == volumes[0]]
    assert len(mounts) == 1
    return PurePosixPath(mounts[0])


def test_configmap_files_exist_and_are_what_master_and_workers_load() -> None:
    name, files = configmap_source_files()
    assert name == the("ConfigMap")["metadata"]["name"]
    missing = [str(file.relative_to(REPO)) for file in files if not file.is_file()]
    assert not missing, f"configmap.yaml's comment names files the repository lacks: {missing}"
    by_suffix = {file.suffix: file.name for file in files}
    assert set(by_suffix) == {".py", ".yaml"}, "one scenario and one spec"

    job, deployment = the("Job"), the("Deployment")
    for workload in (job, deployment):
        mount = scenario_mount(workload, name)
        assert flag(workload, "-f") == str(mount / by_suffix[".py"])
    assert flag(job, "--slogate-spec") == str(scenario_mount(job, name) / by_suffix[".yaml"])


def test_the_scraped_port_is_the_metrics_port() -> None:
    job = the("Job")
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    metrics_port = flag(job, "--slogate-metrics-port")
    assert metrics_port is not None
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == int(metrics_port)
    assert port_named(only_container(job), "metrics") == int(metrics_port)


# --- the pattern runs -----------------------------------------------------------------------------

USERS = 4
WORKERS = 2


def rewritten(args: Sequence[str], changes: Mapping[str, str], added: Mapping[str, str]) -> list[str]:
    """The manifest's args with the values of ``changes`` replaced and ``added`` appended; every
    other flag is kept as written. A change of a flag the manifest lacks is an error, so a renamed
    flag cannot slip through unrewritten."""
    absent = set(changes) - set(flag_values(args))
    assert not absent, f"the manifest no longer passes {sorted(absent)}"
    out = []
    for arg in args:
        name, equals, _ = arg.partition("=")
        out.append(f"{name}={changes[name]}" if equals and name in changes else arg)
    return out + [f"{name}={value}" for name, value in added.items()]


def locust_command(container: Manifest) -> list[str]:
    """The container's command, as this venv runs it (the image's ``locust`` is its console script)."""
    assert container["command"] == ["locust"]
    return [sys.executable, "-m", "locust"]


def start(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment.pop("SLOGATE_API_KEY", None)  # the manifests' key is an optional secret: absent here
    with log.open("wb") as output:
        return subprocess.Popen(list(argv), stdout=output, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=environment, cwd=REPO)


def metrics_page(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode("utf-8"))
    except OSError:
        return ""


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The Locust processes a test starts; none outlives it."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        kill_tree(process.pid)
        process.wait(timeout=10)


@pytest.mark.slow
def test_master_and_workers_run_as_written(tmp_path: Path,
                                           processes: list[subprocess.Popen[bytes]]) -> None:
    _, (scenario, spec) = configmap_source_files()
    bundle = tmp_path / "bundle"
    master_port, metrics_port = unused_port(), unused_port()
    master, worker = only_container(the("Job")), only_container(the("Deployment"))
    with ReferenceTarget() as target:
        served_before = served_requests(target)
        # Only what this machine forces is rewritten: the ConfigMap's files are the repository's,
        # the Service is loopback, and the load is small and short.
        master_argv = locust_command(master) + rewritten(
            master["args"],
            {"-f": str(scenario), "--slogate-spec": str(spec), "--host": target.proxy_url,
             "--expect-workers": str(WORKERS), "--users": str(USERS), "--spawn-rate": str(USERS),
             "--run-time": "4s", "--slogate-out": str(bundle),
             "--slogate-metrics-port": str(metrics_port), "--slogate-metrics-host": "127.0.0.1"},
            {"--master-bind-host": "127.0.0.1", "--master-bind-port": str(master_port)})
        worker_argv = locust_command(worker) + rewritten(
            worker["args"], {"-f": str(scenario), "--master-host": "127.0.0.1"},
            {"--master-port": str(master_port)})

        processes.append(start(master_argv, tmp_path / "master.log"))
        processes.extend(start(worker_argv, tmp_path / f"worker-{n}.log") for n in range(WORKERS))
        master_process = processes[0]

        def logs() -> str:
            return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                             for log in sorted(tmp_path.glob("*.log")))

        # While it runs: the scraped port serves the load test's metrics, and nothing listens
        # beyond loopback.
        wait_for(lambda: master_process.poll() is not None
                 or "slogate_loadtest_" in metrics_page(metrics_port), 30, "the master's metrics endpoint")
        assert master_process.poll() is None, logs()
        listening = listening_addresses([p.pid for p in processes])
        assert {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening

        try:
            exit_code = master_process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            pytest.fail("the master did not finish\n" + logs())
        # Workers quit by themselves when their master does.
        deadline = time.monotonic() + 15
        for worker_process in processes[1:]:
            assert worker_process.wait(timeout=max(0.1, deadline - time.monotonic())) == 0, logs()
        served = served_requests(target) - served_before

    assert (bundle / "run.json").is_file() and (bundle / "evaluation.json").is_file(), logs()
    evaluation, run = read_json(bundle / "evaluation.json"), read_json(bundle / "run.json")
    assert exit_code == evaluation["exit_code"], logs()
    assert exit_code in (0, 1, 3), logs()

    # The list holds the master (it coordinates, its CPU counts too) and each worker, by Locust id.
    worker_ids = {w["worker_id"] for w in run["workers"]} - {"master"}
    assert len(worker_ids) == WORKERS, run["workers"]
    assert not any(w["lost"] for w in run["workers"]), run["workers"]
    assert run["validity"] == [], run["validity"]
    assert run["complete"] is True

    # The target's own count against the histograms merged from two processes: they differ by at
    # most the requests in flight when the run stopped (one per user).
    recorded = recorded_requests(run)
    assert recorded >= 20, f"too little traffic to compare: {recorded}"
    assert abs(served - recorded) <= USERS, (served, recorded)
