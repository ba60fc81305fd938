"""People and the structure they work in: users, organizations, teams, projects.

Many-to-many links (project-team, environment-project) are association
objects, because the reference gives them their own rows and constraints.
``Project.teams`` and friends are association proxies over those rows, so
``project.teams.append(team)`` writes a :class:`ProjectTeam` and reading
never goes stale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pytest_mockseed.models.base import Base, IntEnumType, Timestamp
from pytest_mockseed.models.enums import (
    ObjectStatus,
    OrganizationMemberInviteStatus,
    OrganizationStatus,
    ProjectFlags,
    TeamStatus,
)


class User(Base):
    """An account; the scenario needs a superuser and a dummy user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200))
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_managed: Mapped[bool] = mapped_column(default=False)
    is_password_expired: Mapped[bool] = mapped_column(default=False)
    password: Mapped[str] = mapped_column(String(128))
    date_joined: Mapped[datetime] = mapped_column(Timestamp)
    last_active: Mapped[datetime | None] = mapped_column(Timestamp)

    memberships: Mapped[list[OrganizationMember]] = relationship(back_populates="user")


class Organization(Base):
    """The tenant that owns teams, projects, rules and incidents."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    status: Mapped[OrganizationStatus] = mapped_column(
        IntEnumType(OrganizationStatus), default=OrganizationStatus.ACTIVE
    )
    default_role: Mapped[str] = mapped_column(String(32), default="member")
    # Bit 1 is "allow_joinleave", on by default in the reference.
    flags: Mapped[int] = mapped_column(default=1)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    members: Mapped[list[OrganizationMember]] = relationship(
        back_populates="organization"
    )
    teams: Mapped[list[Team]] = relationship(back_populates="organization")
    projects: Mapped[list[Project]] = relationship(back_populates="organization")


class OrganizationMember(Base):
    """A user's (or an invited email's) membership and role in an organization."""

    __tablename__ = "organization_members"
    __table_args__ = (
        UniqueConstraint("organization_id", "user_id"),
        UniqueConstraint("organization_id", "email"),
        CheckConstraint(
            "user_id IS NOT NULL OR email IS NOT NULL", name="user_or_email"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="member")
    has_global_access: Mapped[bool] = mapped_column(default=True)
    invite_status: Mapped[OrganizationMemberInviteStatus] = mapped_column(
        IntEnumType(OrganizationMemberInviteStatus),
        default=OrganizationMemberInviteStatus.APPROVED,
    )
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship(back_populates="memberships")


class Team(Base):
    """A group of members that owns projects."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(50))
    status: Mapped[TeamStatus] = mapped_column(
        IntEnumType(TeamStatus), default=TeamStatus.ACTIVE
    )
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship(back_populates="teams")
    project_links: Mapped[list[ProjectTeam]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )
    projects: AssociationProxy[list[Project]] = association_proxy(
        "project_links", "project", creator=lambda project: ProjectTeam(project=project)
    )


class ProjectTeam(Base):
    """Link row: a team has access to a project."""

    __tablename__ = "project_teams"
    __table_args__ = (UniqueConstraint("project_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))

    project: Mapped[Project] = relationship(back_populates="team_links")
    team: Mapped[Team] = relationship(back_populates="project_links")


class Project(Base):
    """Where events land; alert rules and incidents are scoped to projects."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(50))
    platform: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ObjectStatus] = mapped_column(
        IntEnumType(ObjectStatus), default=ObjectStatus.ACTIVE
    )
    flags: Mapped[ProjectFlags] = mapped_column(
        IntEnumType(ProjectFlags), default=ProjectFlags(0)
    )
    first_event: Mapped[datetime | None] = mapped_column(Timestamp)
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship(back_populates="projects")
    team_links: Mapped[list[ProjectTeam]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    teams: AssociationProxy[list[Team]] = association_proxy(
        "team_links", "team", creator=lambda team: ProjectTeam(team=team)
    )
    environment_links: Mapped[list[EnvironmentProject]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    environments: AssociationProxy[list[Environment]] = association_proxy(
        "environment_links",
        "environment",
        creator=lambda environment: EnvironmentProject(environment=environment),
    )


class Environment(Base):
    """A named deployment stage, shared by the organization's projects."""

    __tablename__ = "environments"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        # The reference forbids these characters; "" is a legal name.
        CheckConstraint(r"name !~ '[\n\r\f/]'", name="name_characters"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(64))
    date_added: Mapped[datetime] = mapped_column(Timestamp)

    organization: Mapped[Organization] = relationship()
    project_links: Mapped[list[EnvironmentProject]] = relationship(
        back_populates="environment", cascade="all, delete-orphan"
    )
    projects: AssociationProxy[list[Project]] = association_proxy(
        "project_links",
        "project",
        creator=lambda project: EnvironmentProject(project=project),
    )


class EnvironmentProject(Base):
    """Link row: an environment is used by a project (and maybe hidden there)."""

    __tablename__ = "environment_projects"
    __table_args__ = (UniqueConstraint("project_id", "environment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id"))
    is_hidden: Mapped[bool | None] = mapped_column(Boolean)

    project: Mapped[Project] = relationship(back_populates="environment_links")
    environment: Mapped[Environment] = relationship(back_populates="project_links")


class OrganizationAccessRequest(Base):
    """A member's request to join a team; at most one per (team, member)."""

    __tablename__ = "access_requests"
    __table_args__ = (UniqueConstraint("team_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("organization_members.id"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    team: Mapped[Team] = relationship()
    member: Mapped[OrganizationMember] = relationship()
    requester: Mapped[User | None] = relationship()


class Broadcast(Base):
    """A product announcement shown to every user until it expires."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    upstream_id: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(256))
    link: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    date_expires: Mapped[datetime | None] = mapped_column(Timestamp)
    date_added: Mapped[datetime] = mapped_column(Timestamp)
    cta: Mapped[str | None] = mapped_column(String(256))
