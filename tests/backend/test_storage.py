"""open_storage: the server's records in the database --db names (SQLite file or PostgreSQL), files beside."""

from __future__ import annotations

import socket

import pytest

from trainaction.backend import migrate
from trainaction.backend.database import check_database
from trainaction.backend.storage import open_storage
from trainaction.errors import StoreError


def test_no_url_is_the_embedded_database_in_the_artifacts_folder(tmp_path):
    storage = open_storage(None, tmp_path / "artifacts")
    assert storage.create_job("train", {}, "n", "n").id == 1
    assert (tmp_path / "artifacts" / "trainaction.db").is_file()


def test_an_sqlite_url_is_that_file_made_like_the_embedded_one(tmp_path):
    path = tmp_path / "records" / "team.db"
    storage = open_storage(f"sqlite:///{path}", tmp_path / "artifacts")
    assert storage.create_job("train", {}, "n", "n").id == 1
    assert check_database(path) is False  # ours, and marked
    assert migrate.current_revision(storage.engine) == migrate.HEAD
    assert [j.id for j in open_storage(f"sqlite:///{path}", tmp_path / "other").list_jobs()] == [1]


def test_a_plain_postgresql_url_uses_psycopg_3(postgres_db, tmp_path):
    plain = postgres_db.replace("postgresql+psycopg://", "postgresql://")
    storage = open_storage(plain, tmp_path / "artifacts")
    assert storage.engine.url.drivername == "postgresql+psycopg"
    assert storage.create_job("train", {}, "n", "n").id == 1
    assert migrate.current_revision(storage.engine) == migrate.HEAD
    storage.engine.dispose()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "trainaction.db", "http://127.0.0.1:8765"])
def test_other_urls_are_refused_naming_the_accepted_schemes(url, tmp_path):
    with pytest.raises(StoreError, match=r"--db: .* use one of sqlite:///PATH, postgresql://USER@HOST"):
        open_storage(url, tmp_path / "artifacts")


def test_an_unreachable_database_is_reported_without_its_password(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StoreError) as caught:
        open_storage(f"postgresql://team:s3cret-pw@127.0.0.1:{port}/trainaction", tmp_path / "artifacts")
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert f"cannot open the database 'postgresql+psycopg://team:***@127.0.0.1:{port}/trainaction'" in message
    assert "createdb" in message
