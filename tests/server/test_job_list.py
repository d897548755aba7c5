"""GET /api/v1/jobs: name filter, newest/oldest order, offset pages and the total."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from servers import live_app
from trainaction.backend import LocalBackend
from trainaction.backend.storage import open_storage

NAMES = ["Alpha run", "beta RUN", "gamma", "100% done", "under_score", "underXscore", "alpha two"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The API over a store of seven jobs; on SQLite, and on PostgreSQL (its LIKE and lower() differ)."""
    artifacts = tmp_path_factory.mktemp("job-list")
    if request.param == "sqlite":
        storage = LocalBackend(artifacts)
    else:
        storage = open_storage(request.getfixturevalue("postgres_cluster").create_database(), artifacts)
    for n, name in enumerate(NAMES):
        job = storage.create_job("train", {"name": name}, f"enc-{n}", name)
        if n % 2:
            storage.update_job(job.id, status="SUCCEEDED")
    with live_app(storage) as (url, token):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            yield http
    storage.engine.dispose()  # PostgreSQL's connections closed before its cluster stops


def _names(client: Any, **query: Any) -> tuple[list[str], int]:
    answer = client.get("/api/v1/jobs", params=query)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return [job["display_name"] for job in body["jobs"]], body["total"]


def test_the_name_filter_is_a_case_insensitive_substring_with_wildcards_taken_literally(client: Any):
    assert _names(client, q="ALPHA") == (["Alpha run", "alpha two"], 2)
    assert _names(client, q="run", order="newest") == (["beta RUN", "Alpha run"], 2)
    assert _names(client, q="%") == (["100% done"], 1)
    assert _names(client, q="r_s") == (["under_score"], 1)
    assert _names(client, q="enc-") == ([], 0)  # the display name, not the encoded one


def test_newest_first_pages_with_the_total(client: Any):
    everything = list(reversed(NAMES))
    assert _names(client, order="newest", limit=3) == (everything[:3], 7)
    assert _names(client, order="newest", limit=3, offset=3) == (everything[3:6], 7)
    assert _names(client, order="newest", limit=3, offset=6) == (everything[6:], 7)
    assert _names(client, order="newest", limit=3, offset=9) == ([], 7)


def test_oldest_first_stays_the_default_as_the_http_backend_expects(client: Any):
    assert _names(client) == (NAMES, 7)
    assert _names(client, limit=2) == (NAMES[-2:], 7)  # the latest two, oldest first, as Backend.list_jobs
    assert _names(client, order="oldest", offset=1, limit=2) == (NAMES[1:3], 7)


def test_status_filter_counts_only_its_jobs(client: Any):
    succeeded = [name for n, name in enumerate(NAMES) if n % 2]
    assert _names(client, status="SUCCEEDED", order="newest") == (succeeded[::-1], 3)
    assert _names(client, status="SUCCEEDED", q="under") == (["underXscore"], 1)


def test_bad_list_queries_are_422_naming_the_field(client: Any):
    for query, field in (
        ({"order": "sideways"}, "order"),
        ({"offset": -1}, "offset"),
        ({"q": "x" * 256}, "q"),
        ({"q": "a\x00b"}, "q"),
    ):
        answer = client.get("/api/v1/jobs", params=query)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", field], query
