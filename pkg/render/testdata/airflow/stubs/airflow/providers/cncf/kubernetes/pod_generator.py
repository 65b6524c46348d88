"""Stub of PodGenerator: deserialize_model_file records the path it reads."""


class FileRef:
    def __init__(self, path):
        self.path = path


class PodGenerator:
    @staticmethod
    def deserialize_model_file(path):
        return FileRef(path)
