"""A task that returns [1,2,3,4] through XCom, read by the next task."""
import pendulum

from airflow.models.dag import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("xcom_example", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None, catchup=False):
    write_xcom = KubernetesPodOperator(
        task_id="write-xcom",
        name="write-xcom",
        image="docker.io/library/busybox:1.35",
        cmds=["sh", "-c", "mkdir -p /airflow/xcom/;echo '[1,2,3,4]' > /airflow/xcom/return.json"],
        do_xcom_push=True,
        on_finish_action="delete_pod",
        get_logs=True,
    )
    show = BashOperator(task_id="show", bash_command="echo \"{{ task_instance.xcom_pull('write-xcom') }}\"")
    write_xcom >> show
