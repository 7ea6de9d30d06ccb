"""The deployment beyond one machine (deploy/, docs/deployment.md): every file parses and carries what Dagster's
Helm chart, Kubernetes and the hub need; the instance files load as a Dagster instance on PostgreSQL with the
hub's own queue and pools; the tenants example passes the hub's config check; no secret value is committed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import DAGSTER_YAML
from app.instance import DAGSTER_PG_URL_ENV, POSTGRES_STORAGE, write_instance_yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HUB_CONCURRENCY = yaml.safe_load(DAGSTER_YAML)["concurrency"]
INSTANCE_FILES = ["dagster.yaml", "celery/dagster.yaml"]


def docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if d is not None]


def k8s_objects() -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for d in docs(str(path.relative_to(DEPLOY))):
            out[(d["kind"], d["metadata"]["name"])] = d
    return out


def test_every_yaml_file_in_deploy_parses():
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 8, files
    for path in files:
        assert docs(str(path.relative_to(DEPLOY))), path


@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_an_instance_file_keeps_the_hub_queue_and_pools_and_takes_its_database_from_the_environment(name):
    (instance,) = docs(name)
    assert instance["concurrency"] == HUB_CONCURRENCY
    assert instance["storage"] == {"postgres": {"postgres_url": {"env": DAGSTER_PG_URL_ENV}}}
    assert instance["telemetry"] == {"enabled": False}


def camel(value: Any) -> Any:
    """The chart's camelCase spelling of dagster.yaml's keys (default_limit → defaultLimit)."""
    if isinstance(value, dict):
        return {
            re.sub(r"_(\w)", lambda m: m.group(1).upper(), k) if "_" in k else k: camel(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def test_the_helm_values_run_each_run_as_a_kubernetes_job_on_an_external_postgres_with_the_hub_pools():
    (values,) = docs("helm/values.yaml")
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    assert values["generatePostgresqlPasswordSecret"] is False and values["global"]["postgresqlSecretName"]
    assert "postgresqlPassword" not in values["postgresql"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator"}
    assert values["concurrency"]["enabled"] is True
    assert {k: v for k, v in values["concurrency"].items() if k != "enabled"} == camel(HUB_CONCURRENCY)
    (code,) = values["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["--module-name", "definitions"]
    assert code["includeConfigInLaunchedRuns"]["enabled"] is True
    secrets = {s["name"] for s in code["envSecrets"]} & {
        s["name"] for s in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    }
    assert "hub-secrets" in secrets
    objects = k8s_objects()
    assert ("Secret", values["global"]["postgresqlSecretName"]) in objects
    for ref in code["envConfigMaps"]:
        assert ("ConfigMap", ref["name"]) in objects
    claim = values["runLauncher"]["config"]["k8sRunLauncher"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in objects


def test_the_celery_values_switch_the_launcher_and_name_a_broker():
    (values,) = docs("helm/values-celery.yaml")
    assert values["runLauncher"]["type"] == "CeleryK8sRunLauncher"
    assert values["runLauncher"]["config"]["celeryK8sRunLauncher"]["workerQueues"][0]["name"] == "dagster"
    assert values["redis"]["enabled"] != values["rabbitmq"]["enabled"]  # exactly one broker
    (celery,) = docs("celery/celery.yaml")
    config = celery["execution"]["config"]
    assert config["broker"] == {"env": "DAGSTER_CELERY_BROKER_URL"}
    assert config["backend"] == {"env": "DAGSTER_CELERY_BACKEND_URL"}


def test_the_receiver_runs_as_three_stateless_replicas_taken_out_by_its_health_check(store):
    from connectors import registry
    from hub.config import sandbox_config
    from hub.receiver import create_receiver

    objects = k8s_objects()
    deployment = objects[("Deployment", "hub-receiver")]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:2] == ["hub", "serve"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert "tcpSocket" in container["livenessProbe"]  # a store outage takes replicas out, never restarts them all
    assert pod["initContainers"][0]["command"] == ["hub", "migrate"]
    assert "volumes" not in pod or all("persistentVolumeClaim" not in v for v in pod["volumes"])  # stateless
    assert objects[("Service", "hub-receiver")]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    ingress = objects[("Ingress", "hub-receiver")]
    body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    settings = objects[("ConfigMap", "hub-settings")]["data"]
    assert int(body.rstrip("m")) * 2**20 > int(settings["HUB_RECEIVER_MAX_BODY_BYTES"])
    config = sandbox_config()
    app = create_receiver(config, store, registry().routers(config, store))
    assert "/healthz" in {getattr(r, "path", None) for r in app.routes}


def test_no_secret_value_is_committed_and_every_secret_the_tenants_file_names_is_in_the_example(monkeypatch, tmp_path):
    from hub.config import load_config

    objects = k8s_objects()
    secrets = {name: d["stringData"] for (kind, name), d in objects.items() if kind == "Secret"}
    for values in secrets.values():
        assert all("CHANGE-ME" in v for v in values.values()), values
    hub_yaml = objects[("ConfigMap", "hub-tenants")]["data"]["hub.yaml"]
    named = set(re.findall(r"\b(HUB_[A-Z0-9_]+)\b", hub_yaml))
    assert named and named <= set(secrets["hub-secrets"])
    path = tmp_path / "hub.yaml"
    path.write_text(hub_yaml, encoding="utf-8")
    env = {k: "placeholder-value" for k in secrets["hub-secrets"]}
    config = load_config(path, env=env)  # the hub's own check (`hub check-config`), with the secrets set
    assert [t.id for t in config.tenants] == ["coop-example"]


def test_the_dockerfile_copies_only_what_exists_and_the_dockerignore_lets_through():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    allowed = [
        line[1:] for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines() if line.startswith("!")
    ]
    for line in text.splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src
                assert any(a == src or a == f"{src}/**" for a in allowed), src


def test_the_hub_writes_postgres_storage_only_when_the_variable_is_set_and_leaves_a_users_file_alone(tmp_path):
    home = tmp_path / "dagster"
    write_instance_yaml(home, DAGSTER_YAML, env={})
    assert (home / "dagster.yaml").read_text() == DAGSTER_YAML
    write_instance_yaml(home, DAGSTER_YAML, env={DAGSTER_PG_URL_ENV: "postgresql://x@db/dagster"})
    written = (home / "dagster.yaml").read_text()
    assert written == DAGSTER_YAML + POSTGRES_STORAGE and "x@db" not in written  # the variable, never the URL
    write_instance_yaml(home, DAGSTER_YAML, env={})
    assert (home / "dagster.yaml").read_text() == DAGSTER_YAML
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    write_instance_yaml(home, DAGSTER_YAML, env={DAGSTER_PG_URL_ENV: "postgresql://x@db/dagster"})
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_the_executor_is_in_process_unless_a_deployment_names_another():
    from dagster import in_process_executor

    from definitions import executor_from_env

    assert executor_from_env({}) is in_process_executor
    with pytest.raises(ValueError, match="expected one of"):
        executor_from_env({"HUB_DAGSTER_EXECUTOR": "threads"})
    for name, module in (("k8s_job", "dagster_k8s"), ("celery", "dagster_celery")):
        try:
            __import__(module)
        except ImportError:
            with pytest.raises(ValueError, match=r"install the hub with \.\["):
                executor_from_env({"HUB_DAGSTER_EXECUTOR": name})
        else:
            assert executor_from_env({"HUB_DAGSTER_EXECUTOR": name}) is not in_process_executor


@pytest.mark.postgres
@pytest.mark.parametrize("name", INSTANCE_FILES)
def test_an_instance_file_loads_as_a_dagster_instance_on_postgres(name, tmp_path, monkeypatch, pg_dagster_url):
    from dagster import DagsterInstance

    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(DEPLOY / name, home / "dagster.yaml")
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, pg_dagster_url)
    with DagsterInstance.from_config(str(home)) as instance:
        kinds = {
            type(s).__name__ for s in (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        }
        assert kinds == {"PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"}
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 8
        assert instance.global_op_concurrency_default_limit == 2
        assert instance.get_runs() == []


def test_the_mart_publish_job_reads_the_mart_where_the_runs_build_it():
    import importlib

    objects = k8s_objects()
    job = objects[("CronJob", "hub-mart-publish")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    module, source = container["command"][2], container["command"][3]
    assert importlib.import_module(module).publish_parquet
    home = objects[("ConfigMap", "hub-settings")]["data"]["HUB_HOME"]
    assert source == f"{home}/mart/parquet"
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in job["volumes"]}
    assert ("PersistentVolumeClaim", claims["hub-home"]) in objects


@pytest.mark.postgres
def test_the_one_off_init_makes_the_tables_and_every_partner_pool_once(tmp_path, monkeypatch, pg_dagster_url, capsys):
    import json

    from app.instance import declared_pools, main

    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv(DAGSTER_PG_URL_ENV, pg_dagster_url)
    assert main(["init"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first == {"storage": "PostgresRunStorage", "pools_created": sorted(declared_pools())}
    assert main(["init"]) == 0
    assert json.loads(capsys.readouterr().out)["pools_created"] == []


def test_the_init_job_runs_the_instance_init_with_the_hub_secrets():
    objects = k8s_objects()
    pod = objects[("Job", "hub-dagster-init")]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "app.instance", "init"]
    refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
    assert {"hub-settings", "hub-secrets"} <= refs
    assert all(("ConfigMap", n) in objects or ("Secret", n) in objects for n in refs)
    # importing the definitions reads the tenants file: it must be mounted where HUB_CONFIG says
    config = objects[("ConfigMap", "hub-settings")]["data"]["HUB_CONFIG"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert any(
        config.startswith(path + "/") and volumes[name].get("configMap", {}).get("name") == "hub-tenants"
        for name, path in mounts.items()
    )
