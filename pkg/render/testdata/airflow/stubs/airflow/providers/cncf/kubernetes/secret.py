"""Stub of Secret, with KubernetesPodOperator's signature."""


class Secret:
    def __init__(self, deploy_type, deploy_target, secret, key=None, items=None):
        self.deploy_type = deploy_type
        self.deploy_target = deploy_target
        self.secret = secret
        self.key = key
        self.items = items
