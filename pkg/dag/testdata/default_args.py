"""default_args, as Airflow applies them: the DAG's, then the task's own."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

default_args = {
    "owner": "data",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "image": "docker.io/library/busybox:1.35",
    "namespace": "default",
    "labels": {"team": "data", "tier": "batch"},
    "env_vars": [k8s.V1EnvVar(name="STAGE", value="test")],
    "on_finish_action": "delete_succeeded_pod",
    "startup_timeout_seconds": 300,
    "params": {"day": "2024-01-01"},
}

dag = DAG(
    "with_default_args",
    default_args=default_args,
    start_date=datetime(2024, 1, 1),
    schedule=None,
    params={"region": "eu"},
)

clean = KubernetesPodOperator(
    task_id="clean",
    cmds=["sh", "-c", "echo cleaning $STAGE in {{ params.region }} for {{ params.day }}"],
    dag=dag,
)

archive = KubernetesPodOperator(
    task_id="archive",
    cmds=["sh", "-c", "echo archiving for {{ params.day }}"],
    labels={"team": "archive"},
    default_args={"on_finish_action": "delete_pod", "params": {"day": "2024-02-02"}},
    params={"region": "us"},
    dag=dag,
)

clean >> archive
