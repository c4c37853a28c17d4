"""Small helpers for PostgreSQL connection URLs."""

from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def with_user(url: str, user: str) -> str:
    """The same server and database, another user (no password)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}@{host}"))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/")) or user_name(url)


def user_name(url: str) -> str:
    return unquote(urlsplit(url).username or "") or "postgres"


def server_address(url: str) -> str:
    """Where the server is: `host:port`, or the Unix socket's folder."""
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir.startswith("/") or (not parts.hostname and not socket_dir):
        return f"socket {socket_dir or '(default folder)'}"
    return f"{parts.hostname or socket_dir}:{parts.port or 5432}"


def redacted(url: str) -> str:
    """The URL with its password replaced by `***`, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
