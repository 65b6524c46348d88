"""Stub of KubernetesPodOperator: records the keyword arguments of each call."""

CALLS = []


class KubernetesPodOperator:
    def __init__(self, **kwargs):
        CALLS.append(kwargs)
