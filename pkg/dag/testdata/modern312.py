# python: 3.12
"""Python 3.12 syntax: f-strings nested with the same quotes, type aliases, generics."""
from airflow.decorators import dag
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

type Image = str
IMAGE = "docker.io/library/busybox:1.35"
NAMES = {"who": "world"}


def first[T](xs: list[T]) -> T:
    return xs[0]


@dag(schedule=None)
def py312():
    KubernetesPodOperator(
        task_id="nested",
        image=IMAGE,
        cmds=["sh", "-c", f"echo {f"hello {NAMES["who"]}"}"],
    )


py312()
