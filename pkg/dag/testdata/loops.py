"""Tasks made in loops over the file's own lists: one task per item, as in Airflow."""
import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

TABLES = ["users", "orders"]
REGIONS = ("eu", "us")

with DAG("loops", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    for table in TABLES:
        for region in REGIONS:
            KubernetesPodOperator(
                task_id=f"load_{table}_{region}",
                image="docker.io/library/busybox:1.35",
                cmds=["sh", "-c", f"echo loading {table} in {region}"],
                labels={"table": table, "region": region},
            )
