"""deploy/kuberay/rayservice.yaml runs the same app as ray_config.yaml: the same deployments
with the same options, but for what a cluster needs to differ (listed here, and nothing else)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from serve_app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
CLUSTER_ONLY = {("Ingress", "autoscaling_config", "min_replicas"): 2}  # one per node at least


def _load(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text()))


def rayservice() -> dict[str, Any]:
    [doc] = _load(ROOT / "deploy/kuberay/rayservice.yaml")
    assert doc["kind"] == "RayService" and doc["apiVersion"] == "ray.io/v1"
    return doc  # type: ignore[no-any-return]


def app(config: dict[str, Any]) -> dict[str, Any]:
    [application] = config["applications"]
    return application  # type: ignore[no-any-return]


def test_its_serve_config_has_the_same_deployments_and_options_as_ray_config() -> None:
    [local] = _load(ROOT / "ray_config.yaml")
    cluster = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    expected = copy.deepcopy(app(local))
    for (deployment, *path, leaf), value in CLUSTER_ONLY.items():
        [options] = [d for d in expected["deployments"] if d["name"] == deployment]
        for part in path:
            options = options[part]
        options[leaf] = value
    got = app(cluster)
    for key in ("name", "route_prefix", "import_path", "runtime_env", "deployments"):
        assert got[key] == expected[key], key
    assert set(got["args"]) == set(expected["args"]) == {"data_dir"}
    # on a cluster: every node's proxy, on every interface (each pod has its own address)
    assert cluster["proxy_location"] == "EveryNode"
    assert cluster["http_options"]["host"] == "0.0.0.0"


def test_its_pods_share_the_journal_and_the_blobs_as_the_service_requires_on_many_nodes() -> None:
    spec = rayservice()["spec"]["rayClusterConfig"]
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for group in groups:
        [container] = group["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        journal = env["AVATAR_JOURNAL"]["valueFrom"]["secretKeyRef"]
        assert journal == {"name": "avatar-journal", "key": "url"}  # never in the file
        assert env["AVATAR_BLOB_DIR_SHARED"]["value"] == "true"
        blob_dir = env["AVATAR_BLOB_DIR"]["value"]
        [mount] = container["volumeMounts"]
        assert blob_dir.startswith(mount["mountPath"] + "/")
        [volume] = group["template"]["spec"]["volumes"]
        assert volume["name"] == mount["name"] and "persistentVolumeClaim" in volume
        # every AVATAR_* variable names a real setting
        for name in env:
            if name.startswith("AVATAR_"):
                assert name.removeprefix("AVATAR_").lower() in Settings.model_fields, name
    assert "redisAddress" in spec["gcsFaultToleranceOptions"]  # head-node loss: GCS FT
