"""Which database to serve from, migrated: DATABASE_URL's, or an embedded
PostgreSQL's (started on demand). The library's start-up checks apply: an
unreachable server or a refused login fails in seconds with one clear line."""

from app.config import Settings
from langgraph_execution_monitor.startup import open_database
from langgraph_execution_monitor.storage.migrate import migrate


def resolve_database_url(settings: Settings) -> str:
    database = open_database(
        settings.database_url,
        data_dir=settings.embedded_data_dir,
        create=settings.create_database,
        wait_s=settings.database_wait_s,
    )
    return database.url


def prepare_database(settings: Settings) -> str:
    """The database URL, after applying pending migrations."""
    url = resolve_database_url(settings)
    migrate(url, wait_s=settings.database_wait_s)
    return url
