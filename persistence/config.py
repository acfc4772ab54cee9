"""What the persistence layer needs from the settings (``workers.settings.Settings`` has it).

A protocol rather than an import, so persistence does not depend on the layer above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import SecretStr


class DatabaseSettings(Protocol):
    @property
    def database_url(self) -> str: ...

    @property
    def migration_database_url(self) -> str: ...

    @property
    def db_schema(self) -> str: ...

    @property
    def db_pool_size(self) -> int: ...

    @property
    def db_pool_pre_ping(self) -> bool: ...

    @property
    def app_role(self) -> str: ...


class CipherSettings(Protocol):
    @property
    def encryption_keys(self) -> Sequence[SecretStr]: ...
