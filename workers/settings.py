"""Runtime configuration: one settings object, built once at start-up."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from workers.providers.whatsapp_cloud import DEFAULT_GRAPH_VERSION


class Settings(BaseSettings):
    """Everything frontdesk reads from the environment (prefix ``FRONTDESK_``).

    The defaults point at a PostgreSQL and a RabbitMQ on localhost, so a newcomer sets nothing.
    """

    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", env_file=".env", extra="ignore")

    # The restricted role the application connects as: owns nothing, no BYPASSRLS.
    database_url: str = "postgresql+asyncpg://frontdesk_app@127.0.0.1:5432/frontdesk"
    # The owner the migrations run as.
    migration_database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/frontdesk"
    db_schema: str = "frontdesk"
    db_pool_size: int = 10
    # Check pooled connections before use (3 extra round trips per transaction); for proxies
    # that drop idle connections. Without it a dead connection costs one retried event.
    db_pool_pre_ping: bool = False

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # AMQP heartbeat of every long-lived broker connection (consumers, relay, publishers): a
    # silent network cut is noticed after about three missed ones, 3 x (heartbeat + 1) s.
    amqp_heartbeat_seconds: int = Field(default=5, ge=1, le=60)
    exchange: str = "frontdesk.events"
    # The relay leaves outbox rows younger than this to the consumer that is publishing them.
    relay_min_age_seconds: float = 5.0
    # Deliveries of one consumer applied together in one transaction (1: one per transaction).
    worker_batch_size: int = Field(default=16, ge=1, le=256)
    # Threads each message's embedding is computed with (the assistant's decision, document
    # passages): 2 cuts a decision's wall time by about 40% for 9% more CPU (bench/RESULTS.md).
    embed_threads: int = Field(default=2, ge=1, le=64)

    # Fernet keys, newest first; older keys still decrypt so a key can be rotated.
    encryption_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr("ZnJvbnRkZXNrLWRldmVsb3BtZW50LWtleS0wMDAwMDA=")]
    )
    # Signs staff acknowledgement links.
    signing_key: SecretStr = SecretStr("frontdesk-development-signing-key")

    public_base_url: str = "http://127.0.0.1:8000"
    ingress_host: str = "127.0.0.1"
    ingress_port: int = 8000
    max_body_bytes: int = 1_048_576
    # Load shedding: webhooks handled at once before the next is answered 503 + Retry-After.
    ingress_max_in_flight: int = Field(default=64, ge=1)
    # Open connections (plus tasks) before uvicorn itself answers 503.
    ingress_max_connections: int = Field(default=1024, ge=1)
    # Seconds a client has to send its request headers, then its whole body; then 408.
    ingress_header_timeout_seconds: float = Field(default=5.0, gt=0)
    ingress_body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Seconds an idle keep-alive connection is kept open between requests.
    ingress_keep_alive_seconds: float = Field(default=5.0, gt=0)
    publish_timeout_seconds: float = 5.0
    channel_cache_seconds: float = 5.0

    # The Meta Graph API version WhatsApp Cloud sends go to (Meta retires each after ~2 years).
    whatsapp_graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=r"^v\d+\.\d+$")

    # The provider stand-in the demo channels are seeded to send through (`frontdesk seed`).
    standin_url: str = "http://127.0.0.1:8025"
    standin_smtp_port: int = 8026

    # The management API (`frontdesk api`): staff and integrations.
    api_host: str = "127.0.0.1"
    api_port: int = 8001
    # Where staff reach the API (set-password links point here).
    api_public_url: str = "http://127.0.0.1:8001"
    # HS256 keys of the API's bearer tokens, newest first: tokens are signed with the first and
    # accepted under any, so a key can be rotated by prepending a new one.
    api_token_keys: list[SecretStr] = Field(
        default_factory=lambda: [SecretStr("frontdesk-development-api-token-key-000000")],
        min_length=1,
    )
    api_access_token_seconds: int = Field(default=900, ge=60, le=86_400)
    api_refresh_token_seconds: int = Field(default=1_209_600, ge=300)
    api_invite_hours: int = Field(default=72, ge=1, le=720)

    log_json: bool = True
    log_level: str = "INFO"

    @cached_property
    def app_role(self) -> str:
        """The role name the application connects as, taken from ``database_url``."""
        return make_url(self.database_url).username or "frontdesk_app"


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
