"""Stub of kubernetes.client.models: every V1* class records its keyword arguments."""


class Model:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


def __getattr__(name):
    if not name.startswith("V1"):
        raise AttributeError(name)
    cls = type(name, (Model,), {})
    globals()[name] = cls
    return cls
