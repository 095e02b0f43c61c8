"""The benchmarks' login: a token of `admin` on project `admin`, and that project's id."""

import requests


def admin_token(base, password):
    """(token, project id) from Keystone at `base` (the cloud's root URL)."""
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    r = requests.post(f"{base}/identity/v3/auth/tokens", json=auth)
    r.raise_for_status()
    return r.headers["X-Subject-Token"], r.json()["token"]["project"]["id"]
