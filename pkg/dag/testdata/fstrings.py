"""f-strings, concatenation and module constants."""
from __future__ import annotations

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

REGISTRY = "docker.io/library"
IMAGE = f"{REGISTRY}/busybox:{'1.35'}"
TABLES = ("users", "orders")
SCHEMA = "analytics"
RETRIES: int = 3
BASE_CMD = ["sh", "-c"]
MEMORY = {"small": "32Mi", "large": "64Mi"}
SCRIPT = "echo schema=" + SCHEMA
SCRIPT += f" tables={TABLES[0]},{TABLES[-1]}"

with DAG(dag_id=f"{SCHEMA}_load", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    first = TABLES[0]
    load = KubernetesPodOperator(
        task_id=f"load_{first}",
        name=f"load-{first}-{SCHEMA}",
        image=IMAGE,
        cmds=BASE_CMD + [f"{SCRIPT}; echo retries={RETRIES!s} first={first!r} day={{{{ ds }}}} braces={{literal}}"],
        env_vars={"SCHEMA": SCHEMA, "TABLE": f"{first}", "N": RETRIES},
        container_resources={"limits": {"memory": MEMORY["small"]}},
        annotations={"note": "plain"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": f"{SCHEMA}", "effect": "NoSchedule"}],
        priority_class_name=None,
    )
