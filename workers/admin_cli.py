"""`frontdesk api`, `tenant create`, `user add`, `apikey create`, `kb import`:
onboarding a hotel from nothing. The commands call the same functions as the API's routes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar
from uuid import UUID

import typer

if TYPE_CHECKING:
    from persistence.repositories.access import AuditActor
    from persistence.uow import UnitOfWork, UnitOfWorkFactory
    from workers.settings import Settings

T = TypeVar("T")
# An operator command's work in one tenant: the lines it prints.
TenantWork = Callable[["UnitOfWork", "AuditActor"], Awaitable[list[str]]]

tenant_app = typer.Typer(help="Create tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Manage a tenant's staff users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage a tenant's API keys.", no_args_is_help=True)
kb_app = typer.Typer(help="Import a tenant's knowledge base.", no_args_is_help=True)


def _settings() -> Settings:
    from workers.logging import configure_logging
    from workers.settings import Settings

    settings = Settings()
    configure_logging(settings)
    return settings


def _with_factory(settings: Settings, work: Callable[[UnitOfWorkFactory], Awaitable[T]]) -> T:
    from persistence.uow import UnitOfWorkFactory

    async def run() -> T:
        factory = UnitOfWorkFactory.from_settings(settings)
        try:
            return await work(factory)
        finally:
            await factory.dispose()

    return asyncio.run(run())


def run_for_tenant(tenant: UUID, label: str, work: TenantWork) -> list[str]:
    """``work`` in one committed unit of work of ``tenant``, audited as the operator command
    ``label``; a tenant that does not exist is a ``ValueError``."""
    from persistence.repositories.access import AuditActor

    actor = AuditActor(kind="system", label=label)

    async def run(factory: UnitOfWorkFactory) -> list[str]:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            lines = await work(uow, actor)
            await uow.commit()
            return lines

    return _with_factory(_settings(), run)


def echo_for_tenant(tenant: UUID, label: str, work: TenantWork) -> None:
    """``run_for_tenant`` and print its lines; what it refuses is one line and exit status 2."""
    from persistence.repositories.base import NotFoundError
    from workers.api.commands import CommandError

    try:
        lines = run_for_tenant(tenant, label, work)
    except (ValueError, NotFoundError, CommandError) as exc:
        raise _fail(str(exc)) from None
    for line in lines:
        typer.echo(line)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"frontdesk: {message}", err=True)
    return typer.Exit(2)


def api(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Run the management API (staff and integrations), /openapi.json for its routes."""
    from workers.api.server import run

    settings = _settings()
    overrides = {key: value for key, value in {"api_host": host, "api_port": port}.items() if value}
    run(settings.model_copy(update=overrides))


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="The tenant's name, e.g. 'Hotel Aurora'.")],
    admin_email: Annotated[str, typer.Option(help="The first admin's e-mail.")],
    admin_password: Annotated[
        str,
        typer.Option(
            envvar="FRONTDESK_ADMIN_PASSWORD",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            show_default=False,
            help="At least 12 characters (or FRONTDESK_ADMIN_PASSWORD).",
        ),
    ],
    slug: Annotated[str | None, typer.Option(help="URL name; derived from NAME if omitted.")] = (
        None
    ),
    vertical: Annotated[str, typer.Option(help="hotel, vacation_rental or restaurant.")] = "hotel",
    timezone: Annotated[str, typer.Option(help="IANA time zone of the property.")] = "UTC",
    property_name: Annotated[str | None, typer.Option(help="Defaults to NAME.")] = None,
    admin_name: Annotated[str, typer.Option(help="The admin's full name.")] = "Administrator",
) -> None:
    """Create a tenant with one property, its settings, AI settings and an admin user; prints
    the tenant id."""
    from sqlalchemy.exc import IntegrityError

    from persistence.models.tenancy import VERTICALS
    from workers.api.commands.tenants import create_tenant

    if vertical not in VERTICALS:
        raise _fail(f"--vertical must be one of {', '.join(VERTICALS)}")
    try:
        created = _with_factory(
            _settings(),
            lambda factory: create_tenant(
                factory,
                name=name,
                slug=slug,
                vertical=vertical,
                timezone=timezone,
                property_name=property_name,
                admin_email=admin_email,
                admin_name=admin_name,
                admin_password=admin_password,
            ),
        )
    except IntegrityError:
        raise _fail("a tenant with this slug exists already: pass another --slug") from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"tenant {created.slug} created; admin {admin_email.strip().lower()}")
    typer.echo(str(created.tenant_id))


@user_app.command("add")
def user_add(
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    name: Annotated[str, typer.Option(help="The user's full name.")],
    role: Annotated[
        list[str], typer.Option(help="admin, supervisor, team_lead or agent (repeatable).")
    ],
    invite: Annotated[
        bool, typer.Option(help="Print a single-use set-password link instead of a password.")
    ] = False,
) -> None:
    """Add a staff user with a password (FRONTDESK_USER_PASSWORD or prompted), or --invite."""
    from persistence.repositories.access import AuditActor
    from persistence.repositories.base import NotFoundError
    from workers.api.commands.staff import add_user, invite_user

    settings = _settings()
    password = None
    if not invite:
        password = os.environ.get("FRONTDESK_USER_PASSWORD") or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
    actor = AuditActor(kind="system", label="frontdesk cli")

    async def work(factory: UnitOfWorkFactory) -> str:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            if invite:
                invitation = await invite_user(
                    uow,
                    actor=actor,
                    email=email,
                    full_name=name,
                    roles=role,
                    valid_for=timedelta(hours=settings.api_invite_hours),
                )
                await uow.commit()
                url = f"{settings.api_public_url}/api/v1/auth/set-password"
                typer.echo(f"invited; the user POSTs this token and a password to {url}:")
                return invitation.token
            user = await add_user(
                uow, actor=actor, email=email, full_name=name, roles=role, password=password
            )
            await uow.commit()
            return str(user.id)

    try:
        typer.echo(_with_factory(settings, work))
    except (ValueError, NotFoundError) as exc:
        raise _fail(str(exc)) from None


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'PMS sync'.")],
    permission: Annotated[list[str], typer.Option(help="A permission code (repeatable).")],
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from persistence.repositories.access import AuditActor
    from workers.api.commands.api_keys import create_api_key

    actor = AuditActor(kind="system", label="frontdesk cli")

    async def work(factory: UnitOfWorkFactory) -> tuple[str, str]:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            issued = await create_api_key(
                uow, actor=actor, name=name, permissions=permission, grantable=None
            )
            await uow.commit()
            return str(issued.row.id), issued.key

    try:
        key_id, key = _with_factory(_settings(), work)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"API key {key_id} created; store it now, it is not shown again:")
    typer.echo(key)


@kb_app.command("import")
def kb_import(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="A .csv or .json file.")],
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing.")
    ] = False,
) -> None:
    """Create or update knowledge items from a file, one line per row; a refused row (with its
    reason) means nothing is written, and the exit status is 1."""
    from persistence.repositories.access import AuditActor
    from workers.api.commands import CommandError
    from workers.api.commands.knowledge_io import Format, ImportReport, import_items, parse

    fmt: Format = "json" if file.name.lower().endswith(".json") else "csv"
    actor = AuditActor(kind="system", label="frontdesk cli")

    async def work(factory: UnitOfWorkFactory) -> ImportReport:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise ValueError(f"no tenant {tenant}")
            report = await import_items(
                uow, actor=actor, rows=parse(file.read(), fmt), dry_run=dry_run
            )
            if report.applied:
                await uow.commit()
            return report

    try:
        report = _with_factory(_settings(), work)
    except (ValueError, CommandError) as exc:
        raise _fail(str(exc)) from None
    for row in report.rows:
        reason = f": {row.reason}" if row.reason else ""
        typer.echo(f"row {row.row} {row.key or '-'} {row.outcome}{reason}")
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.summary().items())
    if report.dry_run:
        typer.echo(f"dry run, nothing written: {counts}")
    elif report.applied:
        typer.echo(f"imported: {counts}")
    else:
        typer.echo(f"nothing imported, rows were refused: {counts}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the management commands to the `frontdesk` command."""
    app.command(name="api")(api)
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(user_app, name="user")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(kb_app, name="kb")
    from workers.kb_cli import kb_ask, kb_documents

    kb_app.command("ask")(kb_ask)
    kb_app.command("documents")(kb_documents)


def management_api_lines(settings: Settings, tenant_slugs: set[str]) -> list[str]:
    """What `frontdesk up` prints about the management API: where, and the demo sign-ins."""
    from persistence.demo.tenants import DEMO_TENANTS
    from persistence.seed import DEMO_PASSWORD

    lines = [f"Management API: {settings.api_public_url}/docs (OpenAPI at /openapi.json)"]
    for demo in DEMO_TENANTS:
        admins = [member.email for member in demo.staff if "admin" in member.roles]
        if demo.slug in tenant_slugs and admins:
            lines.append(f"  {demo.slug}: sign in as {admins[0]} / {DEMO_PASSWORD}")
    return lines
