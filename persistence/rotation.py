"""Re-encrypting every stored secret under the newest key, tenant by tenant.

Run after prepending a new key to ``encryption_keys``; once it finished, the old key can go.
Each tenant is one transaction through the application role, so RLS applies here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from persistence.crypto import SecretCipher
from persistence.models import (
    AiModelSettings,
    Channel,
    IntegrationCredential,
    StaffAlertTarget,
)
from persistence.uow import UnitOfWorkFactory

# (model, encrypted columns): every column that holds a Fernet token.
SECRET_COLUMNS = (
    (Channel, ("credentials_encrypted", "webhook_secret_encrypted")),
    (StaffAlertTarget, ("webhook_url_encrypted",)),
    (IntegrationCredential, ("credentials_encrypted",)),
    (AiModelSettings, ("api_key_encrypted",)),
)


async def rotate_secrets(
    uow_factory: UnitOfWorkFactory,
    *,
    cipher: SecretCipher,
    tenant_ids: Sequence[UUID] | None = None,
) -> int:
    """Re-encrypt the secrets of every (or the given) tenant with ``cipher``'s newest key.

    Returns how many secrets were re-encrypted.
    """
    if tenant_ids is None:
        async with uow_factory.system() as system:
            tenant_ids = await system.tenant_ids()
    rotated = 0
    for tenant_id in tenant_ids:
        async with uow_factory(tenant_id) as uow:
            for model, columns in SECRET_COLUMNS:
                rows = await uow.session.execute(
                    select(model).where(model.tenant_id == tenant_id).with_for_update()
                )
                for row in rows.scalars():
                    for column in columns:
                        token = getattr(row, column)
                        if token is not None:
                            setattr(row, column, cipher.rotate(token))
                            rotated += 1
            await uow.commit()
    return rotated
