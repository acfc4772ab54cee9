"""Secrets at rest: never plaintext in the database, and rotatable to a new key."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.crypto import SecretCipher, SecretDecryptionError
from persistence.directory import ChannelDirectory
from persistence.models import Channel
from persistence.rotation import rotate_secrets
from persistence.uow import UnitOfWorkFactory
from workers.settings import Settings


def test_a_secret_round_trips_and_a_foreign_key_cannot_read_it() -> None:
    cipher = SecretCipher([SecretCipher.generate_key()])
    token = cipher.encrypt("s3cr3t")
    assert "s3cr3t" not in token
    assert cipher.decrypt(token) == "s3cr3t"
    with pytest.raises(SecretDecryptionError):
        SecretCipher([SecretCipher.generate_key()]).decrypt(token)


def test_a_cipher_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SecretCipher([])


async def test_a_database_dump_holds_no_plaintext_secret(
    database: Settings, make_tenant, owner_engine: AsyncEngine
) -> None:
    api_token = f"plaintext-token-{uuid4().hex}"
    webhook_secret = f"plaintext-secret-{uuid4().hex}"
    tenant = await make_tenant(credentials={"api_token": api_token}, webhook_secret=webhook_secret)

    directory = ChannelDirectory.from_settings(database)
    try:
        route = await directory.lookup(tenant.public_id)
    finally:
        await directory.close()
    assert route is not None
    assert route.credentials["api_token"] == api_token  # the secrets are there, decryptable
    assert route.webhook_secret == webhook_secret

    async with owner_engine.connect() as connection:
        raw = (
            await connection.execute(
                select(Channel.credentials_encrypted, Channel.webhook_secret_encrypted).where(
                    Channel.id == tenant.channel_id
                )
            )
        ).one()
    assert api_token not in raw[0]
    assert webhook_secret not in (raw[1] or "")

    url = make_url(database.migration_database_url)
    process = await asyncio.create_subprocess_exec(
        *("pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)),
        *("-U", url.username or "postgres", "--data-only", "-d", url.database or ""),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    dump = output.decode()
    assert tenant.slug in dump  # the dump does contain the tenant's rows
    assert api_token not in dump
    assert webhook_secret not in dump


async def test_rotation_moves_every_secret_to_the_new_key(
    database: Settings, uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    old_key = database.encryption_keys[0].get_secret_value()
    new_key = SecretCipher.generate_key()
    tenant = await make_tenant(webhook_secret="rotate-me")
    new_only = UnitOfWorkFactory(uow_factory.sessionmaker, cipher=SecretCipher([new_key]))
    async with new_only(tenant.tenant_id) as uow:
        with pytest.raises(SecretDecryptionError):
            await uow.channels.route(channel_id=tenant.channel_id)

    rotated = await rotate_secrets(
        uow_factory, cipher=SecretCipher([new_key, old_key]), tenant_ids=[tenant.tenant_id]
    )

    assert rotated >= 2
    async with new_only(tenant.tenant_id) as uow:
        route = await uow.channels.route(channel_id=tenant.channel_id)
        assert route is not None
        assert route.webhook_secret == "rotate-me"
    async with uow_factory(tenant.tenant_id) as uow:  # the configured (old) key alone: no more
        with pytest.raises(SecretDecryptionError):
            await uow.channels.route(channel_id=tenant.channel_id)
