"""The Zero to JupyterHub values (classroom/zero-to-jupyterhub/values.yaml), checked offline.

No Kubernetes cluster is available here, so this does what can be done without
one: the course's values, merged into the chart's defaults as helm merges
them, must validate against the chart's own schema (chart 4.4.0, vendored in
``classroom/zero-to-jupyterhub/chart-4.4.0/``); and the course's
``pre_spawn_hook`` and kubespawner's pod builder (the pinned ``kubespawner``)
must make the pods of a student and of an instructor, with the volumes set as
the chart's ``jupyterhub_config.py`` sets them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import run_coroutine

from htcourse.paths import REPO_ROOT

HERE = REPO_ROOT / "classroom" / "zero-to-jupyterhub"
CHART = HERE / "chart-4.4.0"


def helm_merge(defaults: dict, values: dict) -> dict:
    """Helm's merge of user values into a chart's defaults: maps merge deeply, anything else replaces, null removes."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def merged() -> dict:
    return helm_merge(load(CHART / "values.yaml"), load(HERE / "values.yaml"))


def test_the_values_validate_against_the_charts_schema(merged):
    schema = load(CHART / "values.schema.yaml")
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(merged, schema, cls=jsonschema.Draft7Validator)
    # the check can fail: a key the chart does not know (the old hub.loadGroups) is refused, as helm refuses it
    broken = copy.deepcopy(merged)
    broken["hub"]["loadGroups"] = {"formgrade-htcourse": {"users": ["someone"]}}
    with pytest.raises(jsonschema.ValidationError, match="loadGroups"):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_cookie_tossing_is_closed_by_subdomains_and_host_prefixed_cookies(merged):
    hub = merged["hub"]["config"]["JupyterHub"]
    assert hub["subdomain_host"].startswith("https://") and hub["cookie_host_prefix_enabled"] is True
    assert hub["load_groups"]["formgrade-htcourse"]["users"]


class _Group:
    def __init__(self, name):
        self.name = name


def _chart_volumes(storage: dict) -> tuple[dict, dict]:
    """What the chart's jupyterhub_config.py (4.4.0) makes of singleuser.storage's extra volumes: dicts by name."""
    volumes, mounts = {}, {}
    extra = storage.get("extraVolumes", {})
    if isinstance(extra, dict):
        volumes.update(extra)
    else:
        for volume in extra:
            volumes[volume["name"]] = volume
    extra_mounts = storage.get("extraVolumeMounts", {})
    if isinstance(extra_mounts, dict):
        mounts.update(extra_mounts)
    else:
        for i, mount in enumerate(extra_mounts):
            mounts[f"{i}-{mount['name']}"] = mount
    return volumes, mounts


#: A kube-config that names a cluster nobody listens at: kubespawner loads one when it starts,
#: and building a pod talks to no cluster.
OFFLINE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: offline, user: {}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
current-context: offline
"""


@pytest.fixture(scope="module")
def offline_cluster(tmp_path_factory):
    import kubernetes_asyncio.config.kube_config as kube_config

    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(OFFLINE_KUBECONFIG)
    saved = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(path)
    yield
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved


def _get(obj, snake: str, camel: str):
    """A field of a kubernetes object, which kubespawner gives as a model or as a plain dict."""
    return obj.get(camel, obj.get(snake)) if isinstance(obj, dict) else getattr(obj, snake)


def _pod(merged: dict, groups: list[str]):
    from kubespawner import KubeSpawner
    from traitlets.config import Config

    async def build():
        spawner = KubeSpawner(_mock=True, k8s_api_host="http://127.0.0.1:9", config=Config())
        return spawner, await _configure_and_build(spawner, merged, groups)

    return run_coroutine(build())


async def _configure_and_build(spawner, merged: dict, groups: list[str]):
    from traitlets.config import Config

    single = merged["singleuser"]
    volumes, mounts = _chart_volumes(single["storage"])
    spawner.user.groups = [_Group(g) for g in groups]
    spawner.image = f"{single['image']['name']}:{single['image']['tag']}"
    spawner.uid = single["uid"]
    spawner.fs_gid = single["fsGid"]
    spawner.environment = dict(single["extraEnv"])
    spawner.volumes = volumes
    spawner.volume_mounts = mounts
    namespace: dict = {}
    config = Config()
    namespace["c"] = config
    for code in merged["hub"]["extraConfig"].values():
        exec(compile(code, "values.yaml hub.extraConfig", "exec"), namespace)  # noqa: S102 (the course's own hook)
    hook = config.KubeSpawner.pre_spawn_hook
    hook(spawner)
    return await spawner.get_pod_manifest()


def test_a_students_pod_has_the_exchange_and_nothing_of_the_course(merged, offline_cluster):
    spawner, pod = _pod(merged, groups=[])
    spec = pod.spec
    assert {v.name if hasattr(v, "name") else v["name"] for v in spec.volumes} >= {"nbgrader-exchange"}
    names = {v["name"] if isinstance(v, dict) else v.name for v in spec.volumes}
    assert "course" not in names
    container = spec.containers[0]
    mounts = {(m["mountPath"] if isinstance(m, dict) else m.mount_path) for m in container.volume_mounts}
    assert "/srv/nbgrader/exchange" in mounts and "/home/jovyan/course" not in mounts
    assert _get(container.security_context, "run_as_user", "runAsUser") == merged["singleuser"]["uid"]
    assert _get(spec.security_context, "fs_group", "fsGroup") == merged["singleuser"]["fsGid"]
    env = {e["name"] if isinstance(e, dict) else e.name for e in container.env}
    assert "HTCOURSE_EXCHANGE" in env and "JUPYTER_CONFIG_PATH" not in env


def test_an_instructors_pod_gets_the_course_volume_and_the_formgrader_config(merged, offline_cluster):
    spawner, pod = _pod(merged, groups=["formgrade-htcourse"])
    spec = pod.spec
    names = {v["name"] if isinstance(v, dict) else v.name for v in spec.volumes}
    assert {"nbgrader-exchange", "course"} <= names
    container = spec.containers[0]
    mounts = {(m["mountPath"] if isinstance(m, dict) else m.mount_path) for m in container.volume_mounts}
    assert {"/srv/nbgrader/exchange", "/home/jovyan/course"} <= mounts
    env = {
        (e["name"] if isinstance(e, dict) else e.name): (e["value"] if isinstance(e, dict) else e.value)
        for e in container.env
    }
    assert env["JUPYTER_CONFIG_PATH"] == "/etc/jupyter/instructors"
    assert _get(container.security_context, "run_as_user", "runAsUser") == merged["singleuser"]["uid"]
