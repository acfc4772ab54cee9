"""Staff structure (``users.manage``): teams and who is in them (member or lead), and each
agent's skills (language, topic; level 1-5) that routing reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BeforeValidator, Field, StringConstraints

from persistence.models import AgentSkill, Team, TeamMembership
from workers.api.commands.staff import live_user
from workers.api.config_rows import audited, found, patch
from workers.api.problems import conflict, invalid
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(tags=["staff structure"])
Manage = Annotated[Context, Depends(require("users.manage"))]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


def _lowered(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


SkillName = Annotated[
    str, BeforeValidator(_lowered), StringConstraints(pattern=r"^[a-z0-9][a-z0-9:_-]{0,63}$")
]


class TeamIn(Body):
    name: Name
    description: Description | None = None


class TeamPatch(Body):
    name: Name | None = None
    description: Description | None = None


class MemberOut(Out):
    user_id: UUID
    member_role: str


class TeamOut(Out):
    id: UUID
    name: str
    description: str | None
    members: list[MemberOut]
    updated_at: datetime


class MembershipIn(Body):
    member_role: Literal["member", "lead"] = "member"


class SkillIn(Body):
    skill: SkillName
    level: Annotated[int, Field(ge=1, le=5)] = 3


class SkillsIn(Body):
    skills: Annotated[list[SkillIn], Field(max_length=100)]


class SkillOut(Out):
    skill: str
    level: int


async def _team_out(context: Context, team: Team) -> TeamOut:
    members = await context.uow.configuration.list_all(
        TeamMembership, TeamMembership.member_role, team_id=team.id
    )
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        members=[MemberOut.model_validate(member) for member in members],
        updated_at=team.updated_at,
    )


def _values(out: TeamOut) -> dict[str, object]:
    return out.model_dump(exclude={"updated_at", "id"})


async def _unique_name(context: Context, name: str, *, other_than: UUID | None = None) -> None:
    teams = await context.uow.configuration.list_all(Team, name=name)
    if any(team.id != other_than for team in teams):
        raise conflict(f"a team {name!r} exists already")


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(context: Manage) -> list[TeamOut]:
    teams = await context.uow.configuration.list_all(Team, Team.name)
    return [await _team_out(context, team) for team in teams]


@router.post("/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
async def create_team(body: TeamIn, context: Manage) -> TeamOut:
    await _unique_name(context, body.name)
    team = await context.uow.configuration.add(Team, **body.model_dump())
    out = await _team_out(context, team)
    await audited(context, "team", team.id, "create", new=_values(out))
    await context.uow.commit()
    return out


@router.get("/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: UUID, context: Manage) -> TeamOut:
    return await _team_out(context, await found(context, Team, team_id, "team"))


@router.patch("/teams/{team_id}", response_model=TeamOut)
async def update_team(team_id: UUID, body: TeamPatch, context: Manage) -> TeamOut:
    team = await found(context, Team, team_id, "team")
    old = _values(await _team_out(context, team))
    values = body.model_dump(exclude_unset=True)
    if values.get("name") is not None:
        await _unique_name(context, values["name"], other_than=team.id)
    patch(team, values, nullable=frozenset({"description"}))
    await context.uow.session.flush()
    await context.uow.session.refresh(team)
    out = await _team_out(context, team)
    await audited(context, "team", team.id, "update", old=old, new=_values(out))
    await context.uow.commit()
    return out


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(team_id: UUID, context: Manage) -> None:
    """Delete a team and its memberships (the staff stay)."""
    team = await found(context, Team, team_id, "team")
    old = _values(await _team_out(context, team))
    await context.uow.configuration.remove(team)
    await audited(context, "team", team_id, "delete", old=old)
    await context.uow.commit()


@router.put("/teams/{team_id}/members/{user_id}", response_model=TeamOut)
async def put_member(team_id: UUID, user_id: UUID, body: MembershipIn, context: Manage) -> TeamOut:
    """Add the user to the team, or change their role in it."""
    team = await found(context, Team, team_id, "team")
    user = await live_user(context.uow, user_id)
    member = await context.uow.configuration.membership(team_id=team.id, user_id=user.id)
    old = {"member_role": member.member_role} if member is not None else None
    if member is None:
        await context.uow.configuration.add(
            TeamMembership, team_id=team.id, user_id=user.id, member_role=body.member_role
        )
    else:
        member.member_role = body.member_role
        await context.uow.session.flush()
    new = {"team_id": team.id, "user_id": user.id, "member_role": body.member_role}
    await audited(context, "team_membership", team.id, "put", old=old, new=new)
    out = await _team_out(context, team)
    await context.uow.commit()
    return out


@router.delete("/teams/{team_id}/members/{user_id}", response_model=TeamOut)
async def delete_member(team_id: UUID, user_id: UUID, context: Manage) -> TeamOut:
    team = await found(context, Team, team_id, "team")
    member = await context.uow.configuration.membership(team_id=team.id, user_id=user_id)
    if member is None:
        raise invalid("user_id", "is not a member of this team", location="path")
    old = {"team_id": team.id, "user_id": user_id, "member_role": member.member_role}
    await context.uow.configuration.remove(member)
    await audited(context, "team_membership", team.id, "delete", old=old)
    out = await _team_out(context, team)
    await context.uow.commit()
    return out


@router.get("/users/{user_id}/skills", response_model=list[SkillOut])
async def list_skills(user_id: UUID, context: Manage) -> list[SkillOut]:
    user = await live_user(context.uow, user_id)
    rows = await context.uow.configuration.list_all(AgentSkill, AgentSkill.skill, user_id=user.id)
    return [SkillOut.model_validate(row) for row in rows]


@router.put("/users/{user_id}/skills", response_model=list[SkillOut])
async def put_skills(user_id: UUID, body: SkillsIn, context: Manage) -> list[SkillOut]:
    """Replace the agent's skills with exactly these (each skill named once)."""
    user = await live_user(context.uow, user_id)
    wanted: dict[str, int] = {}
    for index, skill in enumerate(body.skills):
        if skill.skill in wanted:
            raise invalid(f"skills.{index}.skill", f"{skill.skill!r} is named twice")
        wanted[skill.skill] = skill.level
    before = await context.uow.configuration.list_all(AgentSkill, AgentSkill.skill, user_id=user.id)
    old = {"skills": {row.skill: row.level for row in before}}
    rows = await context.uow.configuration.replace_skills(user_id=user.id, skills=wanted)
    await audited(context, "agent_skills", user.id, "replace", old=old, new={"skills": wanted})
    await context.uow.commit()
    return [SkillOut.model_validate(row) for row in rows]
