"""Which database to serve from, migrated: DATABASE_URL's, or an embedded
PostgreSQL's (started on demand). The library's start-up checks apply: an
unreachable server or a refused login fails in seconds with one clear line,
the writer's and the reader's own logins (WRITER_DATABASE_URL,
READER_DATABASE_URL) and the read replica (READ_DATABASE_URL) included."""

from app.config import Settings
from langgraph_execution_monitor.errors import StartupError
from langgraph_execution_monitor.startup import open_database
from langgraph_execution_monitor.storage.connection_check import check_database
from langgraph_execution_monitor.storage.migrate import migrate


def resolve_database_url(settings: Settings) -> str:
    database = open_database(
        settings.database_url,
        data_dir=settings.embedded_data_dir,
        create=settings.create_database,
        wait_s=settings.database_wait_s,
    )
    check_logins(settings)
    return database.url


def check_logins(settings: Settings) -> None:
    """The writer's and the reader's logins, when they are their own, and the read
    replica: one refused is a start-up error naming its setting, not a writer retrying
    (or a dashboard failing) out of sight."""
    for name, url in (
        ("WRITER_DATABASE_URL", settings.writer_database_url),
        ("READER_DATABASE_URL", settings.reader_database_url),
        ("READ_DATABASE_URL", settings.read_database_url),
    ):
        if not url:
            continue
        try:
            check_database(url, wait_s=settings.database_wait_s)
        except StartupError as error:
            raise StartupError(
                f"{name}: {error.message}", error.hint.replace("DATABASE_URL", name)
            ) from None


def prepare_database(settings: Settings) -> str:
    """The database URL, after applying pending migrations."""
    url = resolve_database_url(settings)
    migrate(url, wait_s=settings.database_wait_s)
    return url
