"""The Kubernetes connector: one isolated namespace per team instance (see docs/kubernetes.md).

render.py turns an instance into manifests (pure: tenancy.py, network.py, workloads.py, injection.py,
security.py, naming.py); connector.py applies them through apiserver.py (REST over the official client,
rate limit, retries) and reads status back with readiness.py and capacity.py.
"""
