"""Staff users, their roles and their teams."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from persistence.models import Role, Team, TeamMembership, User, UserRole
from persistence.repositories.base import NotFoundError, Repository


class StaffRepository(Repository):
    async def get(self, *, user_id: UUID) -> User | None:
        return await self._get(User, user_id)

    async def list_live(self) -> list[User]:
        """The users not deleted, by e-mail."""
        statement = (
            select(User)
            .where(User.tenant_id == self.tenant_id, User.deleted_at.is_(None))
            .order_by(User.email)
        )
        return list((await self.session.execute(statement)).scalars())

    async def find_by_email(self, *, email: str) -> User | None:
        """The live user with this e-mail (case-insensitive)."""
        statement = select(User).where(
            User.tenant_id == self.tenant_id,
            User.email == email.strip().lower(),
            User.deleted_at.is_(None),
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(
        self,
        *,
        email: str,
        full_name: str,
        password_hash: str,
        phone: str | None = None,
        roles: Sequence[str] = ("agent",),
    ) -> User:
        """Add a user with the given roles (admin, supervisor, team_lead, agent)."""
        user = User(
            tenant_id=self.tenant_id,
            email=email.strip().lower(),
            full_name=full_name,
            password_hash=password_hash,
            phone=phone,
            active=True,
        )
        self._stage(user)
        await self.session.flush()
        for role in roles:
            self._stage(
                UserRole(tenant_id=self.tenant_id, user_id=user.id, role_id=await self._role(role))
            )
        await self.session.flush()
        return user

    async def role_names(self, *, user_id: UUID) -> list[str]:
        statement = (
            select(Role.name)
            .join(UserRole, UserRole.role_id == Role.id)
            .where(UserRole.tenant_id == self.tenant_id, UserRole.user_id == user_id)
            .order_by(Role.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def find_team(self, *, name: str) -> Team | None:
        statement = select(Team).where(Team.tenant_id == self.tenant_id, Team.name == name)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_team(self, *, name: str, description: str | None = None) -> Team:
        team = Team(tenant_id=self.tenant_id, name=name, description=description)
        self._stage(team)
        await self.session.flush()
        return team

    async def add_member(self, *, team_id: UUID, user_id: UUID, lead: bool = False) -> None:
        self._stage(
            TeamMembership(
                tenant_id=self.tenant_id,
                team_id=team_id,
                user_id=user_id,
                member_role="lead" if lead else "member",
            )
        )
        await self.session.flush()

    async def _role(self, name: str) -> UUID:
        role_id = await self.session.scalar(select(Role.id).where(Role.name == name))
        if role_id is None:
            raise NotFoundError(f"role {name!r} not found")
        return role_id
