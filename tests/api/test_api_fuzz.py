"""Property-based run of every operation in the OpenAPI spec (schemathesis): never a 5xx.

Each operation gets a bounded number of generated requests (hypothesis, derandomized),
sent with a read key (writes answer 403, so the run cannot start jobs or create keys)
and again with no key. Every 4xx must carry the common error body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The first import below is made here, not lazily deep inside a body strategy: that import
# (source parsed at a deep stack) hit CPython 3.11's "AST constructor recursion depth
# mismatch" SystemError in CI.
import hypothesis.strategies._internal.random  # noqa: F401
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from serving_helpers import Api, serve_copy

EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzz_api(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve_copy(demo_warehouse, tmp_path_factory.mktemp("fuzz") / "wh")


def test_no_server_errors_on_any_operation(fuzz_api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    failures: list[str] = []
    calls = 0
    for op in operations:

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            for headers in ({"X-API-Key": fuzz_api.keys["read"]}, {}):
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the ASGI transport re-raises what became a 500
                    failures.append(f"{case.method} {case.formatted_path} raised {exc!r:.200}")
                    continue
                calls += 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} "
                                    f"-> {response.status_code}: {response.text[:200]}")
                elif response.status_code >= 400:
                    error = response.json().get("error", {})
                    if not {"code", "message"} <= set(error):
                        failures.append(f"{case.method} {case.formatted_path}: bad error body "
                                        f"{response.text[:200]}")

        run()
    assert calls >= len(operations) * 2
    assert failures == []
