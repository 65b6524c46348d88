"""Every construct that is known only when Airflow runs the file: each task is refused."""
import os
from datetime import datetime

from airflow import DAG
from airflow.hooks.base import BaseHook
from airflow.models import Variable
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from company.settings import REGISTRY_IMAGE

BUSYBOX = "docker.io/library/busybox:1.35"
TABLES = ["users", "orders"]

if os.environ.get("STAGE") == "prod":
    STAGE_IMAGE = "registry.example.com/etl:1"
else:
    STAGE_IMAGE = BUSYBOX


def get_image():
    return BUSYBOX


with DAG("refusals", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    KubernetesPodOperator(task_id="call", image=get_image())
    KubernetesPodOperator(task_id="imported", image=REGISTRY_IMAGE)
    KubernetesPodOperator(task_id="variable", image=Variable.get("etl_image"))
    KubernetesPodOperator(task_id="connection", image=BUSYBOX, env_vars={"DB_HOST": BaseHook.get_connection("db").host})
    KubernetesPodOperator(task_id="environ", image=os.environ.get("IMAGE", BUSYBOX))
    KubernetesPodOperator(task_id="conditional", image=STAGE_IMAGE)
    KubernetesPodOperator(task_id="undefined", image=UNDEFINED_IMAGE)
    KubernetesPodOperator(task_id="ternary", image=BUSYBOX if TABLES else None)
    KubernetesPodOperator.partial(task_id="mapped", image=BUSYBOX).expand(arguments=[["a"], ["b"]])
    KubernetesPodOperator.partial(task_id="mapped_kwargs", image=BUSYBOX).expand_kwargs([{"arguments": ["a"]}])
    KubernetesPodOperator(task_id="jinja_var", image=BUSYBOX, cmds=["sh", "-c", "echo {{ var.value.stage }}"])
    KubernetesPodOperator(task_id="jinja_macro", image=BUSYBOX, arguments=["{{ macros.ds_add(ds, 1) }}"])
    KubernetesPodOperator(task_id="jinja_statement", image=BUSYBOX, arguments=["{% if params.x %}x{% endif %}"])
    KubernetesPodOperator(task_id="jinja_namespace", image=BUSYBOX, namespace="{{ params.ns }}")
    KubernetesPodOperator(task_id="format_spec", image=BUSYBOX, arguments=[f"{len(TABLES):>4}"])
    KubernetesPodOperator(task_id="full_pod_spec", full_pod_spec=k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="x")))
    KubernetesPodOperator(task_id="bad_model_arg", image=BUSYBOX, ports=[k8s.V1ContainerPort(port=80)])
    KubernetesPodOperator(task_id="bad_field", image=BUSYBOX, tolerations=[{"key": "a", "efect": "NoSchedule"}])
    for table in get_tables():  # noqa: F821
        KubernetesPodOperator(task_id="loop", image=BUSYBOX, arguments=[table])
