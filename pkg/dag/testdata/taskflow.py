"""TaskFlow style: a @dag function, a @task, a task group and a mapped task."""
from __future__ import annotations

import pendulum
from airflow.decorators import dag, task
from airflow.models.param import Param
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as KPO
from airflow.utils.task_group import TaskGroup

BUSYBOX = "docker.io/library/busybox:1.35"


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"table": Param("users", type="string"), "limit": 10},
    tags=["taskflow"],
)
def nightly_report():
    @task
    def tables() -> list[str]:
        return ["users", "orders"]

    report_dir: str = "/tmp/report"

    extract = KPO(
        task_id="extract",
        image=BUSYBOX,
        cmds=["sh", "-c"],
        arguments=["echo extract {{ params.table }} limit {{ params['limit'] }} on {{ ds }} into " + report_dir],
        env_vars={"DAG": "{{ dag.dag_id }}", "TASK": "{{ task.task_id }}", "RUN": "{{ run_id }}"},
        labels={"team": "reports"},
    )

    with TaskGroup("publish") as publish:
        upload = KPO(
            task_id="upload",
            image=BUSYBOX,
            cmds=["sh", "-c", "echo upload at {{ ts_nodash }}"],
            container_resources={"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        )

    load = KPO.partial(task_id="load", image=BUSYBOX, cmds=["sh", "-c"]).expand(arguments=[["echo a"], ["echo b"]])

    extract >> publish >> load
    tables()


nightly_report()
