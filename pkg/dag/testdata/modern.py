# python: 3.10
"""Syntax of recent Pythons around a plain task: match, walrus, type hints, decorators."""
from __future__ import annotations

import dataclasses
from typing import Final

from airflow.sdk import dag, task
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

IMAGE: Final[str] = "docker.io/library/busybox:1.35"


@dataclasses.dataclass(frozen=True)
class Settings:
    retries: int = 1
    tags: tuple[str, ...] = ()


def pick(kind: str | None, /, *, default: str = "small") -> dict[str, str]:
    match kind:
        case "large" | "huge":
            return {"memory": "64Mi"}
        case {"memory": str(m)}:
            return {"memory": m}
        case _:
            return {"memory": "32Mi"}


if (n := len(IMAGE)) > 10:
    LONG = True

lambda_sort = sorted([3, 1, 2], key=lambda x: -x)
squares = {k: k * k for k in range(3)}


@dag(dag_id="modern", schedule=None, tags=[f"py{3}{10}"])
def modern_dag() -> None:
    @task.python(multiple_outputs=False)
    async def noop(*args: int, **kwargs: str) -> None:
        async with open_session() as s:  # noqa: F821
            await s.close()

    hello = KubernetesPodOperator(
        task_id="hello",
        image=IMAGE,
        cmds=["sh", "-c", f"echo {'hello'} {IMAGE!r}"],
    )
    noop() >> hello


modern_dag()
