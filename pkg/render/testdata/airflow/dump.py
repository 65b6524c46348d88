"""Runs DAG snippets against the stubs and prints, one JSON line each, the
arguments of the snippet's one KubernetesPodOperator call: Kubernetes objects with their JSON
(camelCase) field names and a "__type__", env_vars as a list in order."""
import json
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs"))

from airflow.providers.cncf.kubernetes.operators import pod  # noqa: E402
from airflow.providers.cncf.kubernetes.pod_generator import FileRef  # noqa: E402
from airflow.providers.cncf.kubernetes.secret import Secret  # noqa: E402
from kubernetes.client.models import Model  # noqa: E402

ACRONYMS = {"ip": "IP", "ips": "IPs", "pid": "PID", "ipc": "IPC", "id": "ID", "uri": "URI", "uuid": "UUID"}


def camel(name):
    parts = name.split("_")
    return parts[0] + "".join(ACRONYMS.get(p, p[:1].upper() + p[1:]) for p in parts[1:])


def conv(v):
    if isinstance(v, Model):
        out = {"__type__": type(v).__name__}
        for k, x in v.kwargs.items():
            out[camel(k)] = conv(x)
        return out
    if isinstance(v, Secret):
        out = {"deploy_type": v.deploy_type, "secret": v.secret}
        if v.deploy_target is not None:
            out["deploy_target"] = v.deploy_target
        if v.key is not None:
            out["key"] = v.key
        if v.items:
            out["items"] = conv(v.items)
        return out
    if isinstance(v, FileRef):
        return v.path
    if isinstance(v, (list, tuple)):
        return [conv(x) for x in v]
    if isinstance(v, dict):
        return {k: conv(x) for k, x in v.items()}
    return v


for path in sys.argv[1:]:
    del pod.CALLS[:]
    runpy.run_path(path)
    if len(pod.CALLS) != 1:
        sys.exit("%s: want one KubernetesPodOperator call, got %d" % (path, len(pod.CALLS)))
    args = conv(pod.CALLS[0])
    env = args.get("env_vars")
    if isinstance(env, dict):
        args["env_vars"] = [{"name": k, "value": x} for k, x in env.items()]
    print(json.dumps(args))
