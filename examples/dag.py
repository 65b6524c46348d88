"""An Airflow DAG with two KubernetesPodOperator tasks, for `--dag`:

    kubectl podtask render --dag examples/dag.py                 # its tasks
    kubectl podtask run --dag examples/dag.py --task-id write-xcom
    kubectl podtask run --dag examples/dag.py --task-id report --param table=orders
"""
import pendulum

from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

IMAGE = "docker.io/library/busybox:1.35"

default_args = {
    "image": IMAGE,
    "labels": {"team": "reports"},
    "container_resources": k8s.V1ResourceRequirements(limits={"memory": "64Mi"}),
}

with DAG(
    dag_id="reports",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule="@daily",
    default_args=default_args,
    params={"table": "users"},
) as dag:
    write_xcom = KubernetesPodOperator(
        task_id="write-xcom",
        cmds=["sh", "-c", "mkdir -p /airflow/xcom/; echo '[1,2,3,4]' > /airflow/xcom/return.json"],
        do_xcom_push=True,
    )
    report = KubernetesPodOperator(
        task_id="report",
        cmds=["sh", "-c"],
        arguments=[f"echo report on {{{{ params.table }}}} for {{{{ ds }}}} in DAG {{{{ dag.dag_id }}}}"],
        env_vars=[k8s.V1EnvVar(name="RUN_ID", value="{{ run_id }}")],
    )
    write_xcom >> report
