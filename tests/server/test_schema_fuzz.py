"""Schemathesis against the server's own OpenAPI spec, over real HTTP, with an admin token.

Every operation gets generated requests (valid and not); none may answer 500, and every answer
must match the schema the spec declares for its status. Bounded so it runs in well under 90 s.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from servers import live_app
from trainaction.backend import LocalBackend
from trainaction.server.auth import TokenStore

pytestmark = pytest.mark.slow

# Examples per operation: about 30 operations; 40 took ~30 s on this 2-core machine, 30 leaves room.
EXAMPLES = 30


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    backend = LocalBackend(home)
    job = backend.create_job("train", {"epochs": 1}, "fuzz", "fuzz")
    backend.put_file(job.id, "out.txt", b"a job file")
    with live_app(backend) as (url, _admin):
        # A name nothing generated will hit, so DELETE /tokens/{name} never revokes the token in use.
        token = TokenStore(backend.engine).create(f"fuzz-{secrets.token_hex(16)}", "admin")[1]
        yield url, token


def test_no_server_error_and_no_schema_violation(fuzzed_server: tuple[str, str]) -> None:
    url, token = fuzzed_server
    # The Python API, operation by operation: schemathesis's pytest integration does not load under pytest 9.
    api = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=url,
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        try:
            check()
        except Exception as exc:  # every operation is tried; all that fail are reported together
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 25  # the whole API, not a spec that failed to load
    assert not failures, "\n\n".join(failures)
