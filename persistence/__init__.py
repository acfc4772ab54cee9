"""frontdesk's persistence: models, migrations support, the tenant-bound unit of work.

Entry points: ``persistence.uow.UnitOfWorkFactory`` (``async with uow_factory(tenant_id) as
uow``), ``persistence.directory.ChannelDirectory`` (webhook routing), ``persistence.crypto``
(secrets at rest), ``persistence.migrate`` (Alembic from code) and ``persistence.seed``.
"""
