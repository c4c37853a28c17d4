"""Which database to use, ready to serve: DATABASE_URL's, or an embedded
PostgreSQL's (started on demand), migrated."""

import logging

from app.config import Settings
from langgraph_execution_monitor.storage.embedded import start_embedded
from langgraph_execution_monitor.storage.migrate import migrate

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "execution_monitor"


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    server = start_embedded(settings.embedded_data_dir)
    logger.info(
        "no DATABASE_URL: using the embedded PostgreSQL in %s (pid %s)",
        settings.embedded_data_dir,
        server.get_pid(),
    )
    return server.get_uri(EMBEDDED_DATABASE)


def prepare_database(settings: Settings) -> str:
    """The database URL, after applying pending migrations (dbmate creates the
    database when it does not exist)."""
    url = resolve_database_url(settings)
    migrate(url)
    return url
