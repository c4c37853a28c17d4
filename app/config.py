"""Settings, from the environment (and a `.env` file when present)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from langgraph_execution_monitor.api.prices import ModelPrice


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # No DATABASE_URL: `serve` starts an embedded PostgreSQL in this folder
    # (default: var/postgres under the current directory).
    database_url: str | None = None
    # Least privilege (db/roles/create_login_roles.sh): DATABASE_URL's user owns the
    # schema and migrates; the writer logs in as WRITER_DATABASE_URL's user (a member
    # of execution_monitor_writer), the API's reads and its LISTEN connection as
    # READER_DATABASE_URL's (a member of execution_monitor_reader). Unset: DATABASE_URL's
    # (or the embedded server's) user for both.
    writer_database_url: str | None = None
    reader_database_url: str | None = None
    # Where the API's reads go: a hot standby of DATABASE_URL's server (logging in as
    # this URL says). Writes, LISTEN and the stream's reads stay on the primary, so a
    # listing may be behind by the replication lag. Unset: the primary.
    read_database_url: str | None = None
    embedded_data_dir: Path = Field(default_factory=lambda: Path.cwd() / "var" / "postgres")
    # A DATABASE_URL database that does not exist is refused unless this is set.
    create_database: bool = False
    # How long start-up waits for an unreachable server before giving up.
    database_wait_s: float = Field(default=3.0, gt=0)
    # Apply pending migrations when the app starts (dbmate; idempotent).
    migrate_on_start: bool = True

    # Protects the monitoring API, the stream and the dashboard's data (and
    # the chat endpoint, unless CHAT_REQUIRES_TOKEN=0) when set. Set but empty
    # is refused: unset it to run without a token.
    monitoring_api_token: str | None = None
    chat_requires_token: bool = True

    # Request pool (API reads) and the writer's own small pool.
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    # API reads give up after this long (503), e.g. behind a held lock.
    read_statement_timeout_s: float = Field(default=5.0, gt=0)
    writer_pool_size: int = Field(default=2, ge=1)

    # Background writer: batching, buffer bounds, retries, shutdown.
    writer_batch_size: int = Field(default=2000, ge=1)
    writer_flush_interval_s: float = Field(default=0.05, gt=0)
    buffer_max_events: int = Field(default=100_000, ge=1)
    buffer_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    max_text_chars: int = Field(default=65_536, ge=64)
    max_output_chars: int = Field(default=16_384, ge=64)
    max_trace_chars: int = Field(default=1_048_576, ge=1024)
    retry_max_backoff_s: float = Field(default=5.0, gt=0)
    # Writes refused until an operator acts (a missing function or privilege):
    # tried again this often, the events waiting in the buffer meanwhile.
    permanent_retry_interval_s: float = Field(default=30.0, gt=0)
    shutdown_drain_timeout_s: float = Field(default=5.0, ge=0)
    stale_after_s: float = Field(default=3600.0, gt=0)
    stale_check_interval_s: float = Field(default=60.0, gt=0)
    # How often the writer stamps the runs alive in this process (so no sweep, of
    # this replica or another, closes them); default min(60 s, STALE_AFTER_S / 3).
    heartbeat_interval_s: float | None = Field(default=None, gt=0)
    # Partitions of execution_logs: made ahead and dropped past RETENTION_DAYS by the
    # writer this often (one process at a time); the hourly rollups kept
    # ROLLUP_RETENTION_DAYS (at least RETENTION_DAYS). Unset interval: never (pg_cron's job).
    partition_maintenance_interval_s: float | None = Field(default=3600.0, gt=0)
    retention_days: int = Field(default=30, ge=1)
    rollup_retention_days: int = Field(default=400, ge=1)
    # A local spool for the writer's batch in flight (and, at shutdown, what the
    # drain limit left): a restart replays it, so a SIGKILL loses at most the
    # buffered events no batch took yet. Unset: no spool.
    spool_dir: Path | None = None

    # The dashboard's price table, JSON: {"model": {"input": 0.0025, "output": 0.01}}
    # per 1,000 tokens ("name*" prices every model starting with "name"); costs
    # are shown only for priced models.
    model_prices: dict[str, ModelPrice] = Field(default_factory=dict)
    model_prices_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    # Live stream.
    stream_client_queue_size: int = Field(default=1000, ge=1)
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    # A client not taking a write for this long is disconnected (it resumes).
    stream_send_timeout_s: float = Field(default=10.0, gt=0)
    # A resume (Last-Event-ID) further back than this gets a `reset` event.
    stream_replay_max_changes: int = Field(default=10_000, ge=1)
    stream_replay_max_age_s: float = Field(default=24 * 3600.0, gt=0)

    # Chat endpoint: largest accepted request body; the demo agent's per-node
    # sleep (0 = as fast as it goes; `serve --demo` uses 0.05 s).
    chat_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    agent_node_delay_s: float = Field(default=0.0, ge=0)

    # `serve --demo`: keep demo chat runs going, about this many per second.
    demo_traffic: bool = False
    demo_runs_per_s: float = Field(default=0.5, gt=0)

    @field_validator("monitoring_api_token")
    @classmethod
    def _token_not_blank(cls, token: str | None) -> str | None:
        if token is not None and not token.strip():
            raise ValueError(
                "MONITORING_API_TOKEN is set but empty: unset it to run without a token "
                "(the API is then open), or set a real token"
            )
        return token

    @model_validator(mode="after")
    def _rollups_outlive_rows(self) -> "Settings":
        # The stats read rollups for whole hours: they must cover every row kept.
        if self.rollup_retention_days < self.retention_days:
            raise ValueError(
                f"ROLLUP_RETENTION_DAYS ({self.rollup_retention_days}) must be at least "
                f"RETENTION_DAYS ({self.retention_days})"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
