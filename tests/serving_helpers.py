"""Helpers for the API/dashboard tests: a private copy of the demo warehouse, keys, a client."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from contexts import ctx_of
from insightloop.api.config import ServeConfig
from insightloop.asgi import create_app
from insightloop.services.keys import create_key
from insightloop.settings import Settings


@dataclass
class Api:
    client: TestClient
    settings: Settings
    keys: dict[str, str]

    def get(self, url: str, role: str = "read", **kw: Any) -> Any:
        return self.client.get(url, headers={"X-API-Key": self.keys[role]}, **kw)

    def post(self, url: str, role: str = "read", headers: dict[str, str] | None = None,
             **kw: Any) -> Any:
        return self.client.post(url, headers={"X-API-Key": self.keys[role], **(headers or {})},
                                **kw)

    def wait_job(self, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def copy_warehouse(source: Path, target_dir: Path) -> Settings:
    """Copy the warehouse folder (warehouse file and model registry) and point settings at it."""
    shutil.copytree(source.parent, target_dir)
    return Settings.load(warehouse=target_dir / source.name, env={})


def make_keys(settings: Settings) -> dict[str, str]:
    return {role: create_key(ctx_of(settings), role, f"test {role}")["key"]
            for role in ("read", "write", "admin")}


def client_for(settings: Settings, config: ServeConfig | None = None) -> TestClient:
    config = config or ServeConfig(rate_per_s=10_000, burst=10_000, failed_auth_per_s=10_000,
                                   failed_auth_burst=10_000)
    return TestClient(create_app(settings, config), raise_server_exceptions=False)


def serve_copy(demo_warehouse: Path, folder: Path) -> Iterator[Api]:
    """A TestClient over a private copy of the demo warehouse, with a key per role."""
    settings = copy_warehouse(demo_warehouse, folder)
    keys = make_keys(settings)
    with client_for(settings) as client:
        yield Api(client, settings, keys)
