"""The writer's and the reader's own logins, and the read replica, are checked at
start-up: one the server refuses stops the app with a line naming its setting."""

import pytest

from app.config import Settings
from app.storage.bootstrap import resolve_database_url
from langgraph_execution_monitor.errors import StartupError
from langgraph_execution_monitor.storage.urls import with_user


def test_a_writer_login_the_server_refuses_is_a_startup_error_naming_it(
    settings: Settings, database_url: str
) -> None:
    settings.writer_database_url = with_user(database_url, "no_such_writer_login")

    with pytest.raises(StartupError, match=r"^WRITER_DATABASE_URL: .*no_such_writer_login"):
        resolve_database_url(settings)


def test_a_reader_login_the_server_refuses_is_a_startup_error_naming_it(
    settings: Settings, database_url: str
) -> None:
    settings.reader_database_url = with_user(database_url, "no_such_reader_login")

    with pytest.raises(StartupError, match=r"^READER_DATABASE_URL: .*no_such_reader_login"):
        resolve_database_url(settings)


def test_a_read_replica_the_server_refuses_is_a_startup_error_naming_it(
    settings: Settings, database_url: str
) -> None:
    settings.read_database_url = with_user(database_url, "no_such_replica_login")

    with pytest.raises(StartupError, match=r"^READ_DATABASE_URL: .*no_such_replica_login"):
        resolve_database_url(settings)


def test_logins_the_server_accepts_start(settings: Settings, database_url: str) -> None:
    settings.writer_database_url = settings.reader_database_url = database_url
    settings.read_database_url = database_url

    assert resolve_database_url(settings) == database_url
