# Meta and Params are factory_boy's option holders, not API to document.
"""Factories for users, organizations, members, teams, projects, environments.

Slugs, usernames and environment names carry the factory sequence number,
so they stay unique however many rows a test makes under one parent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factory.declarations import (
    LazyAttribute,
    LazyAttributeSequence,
    LazyFunction,
    SelfAttribute,
    SubFactory,
    Trait,
)

from pytest_mockseed.factories.base import (
    FAKER,
    MockseedFactory,
    ago,
    anchor,
    between,
    link_each,
    pick,
    slugify,
)
from pytest_mockseed.models import (
    Broadcast,
    Environment,
    EnvironmentProject,
    ObjectStatus,
    Organization,
    OrganizationAccessRequest,
    OrganizationMember,
    OrganizationMemberInviteStatus,
    OrganizationStatus,
    Project,
    ProjectFlags,
    ProjectTeam,
    Team,
    TeamStatus,
    User,
)

PLATFORMS = ("python", "javascript", "java", "ruby", "php", "cocoa")
TEAM_NAMES = (
    "Platform",
    "Payments",
    "Search",
    "Growth",
    "Mobile",
    "Infrastructure",
    "Frontend",
    "Data",
    "Billing",
    "Identity",
)
PROJECT_KINDS = ("api", "web", "worker", "ios", "android", "backend", "frontend")
STAGES = ("production", "staging", "development", "qa", "canary")


def _password_hash() -> str:
    """Return something shaped like a Django PBKDF2 hash (never checked)."""
    return f"pbkdf2_sha256$600000${FAKER.pystr(12, 12)}${FAKER.sha256()}"


def _username(name: str, n: int) -> str:
    """Return a login unique by ``n``; the reference uses the email as username."""
    return f"{slugify(name, 60).replace('-', '.')}.{n}@example.com"


class UserFactory(MockseedFactory[User]):
    """An active, non-staff user whose username is also their email."""

    class Meta:
        model = User

    name = LazyFunction(lambda: f"{FAKER.first_name()} {FAKER.last_name()}")
    username = LazyAttributeSequence(lambda o, n: _username(o.name, n))
    email = SelfAttribute("username")
    password = LazyFunction(_password_hash)
    is_staff = False
    is_active = True
    is_superuser = False
    date_joined = ago(365)
    last_active = LazyAttribute(lambda o: between(o.date_joined, anchor()))

    class Params:
        superuser = Trait(is_staff=True, is_superuser=True)


class OrganizationFactory(MockseedFactory[Organization]):
    """An active organization named after a company."""

    class Meta:
        model = Organization

    name = LazyFunction(lambda: FAKER.company()[:64])
    slug = LazyAttributeSequence(lambda o, n: f"{slugify(o.name)}-{n}")
    status = OrganizationStatus.ACTIVE
    default_role = "member"
    flags = 1
    date_added = ago(730)


class OrganizationMemberFactory(MockseedFactory[OrganizationMember]):
    """An approved "member" membership of a new user in a new organization."""

    class Meta:
        model = OrganizationMember

    organization = SubFactory(OrganizationFactory)
    user = SubFactory(UserFactory)
    email = None
    role = "member"
    has_global_access = True
    invite_status = OrganizationMemberInviteStatus.APPROVED
    token = None
    date_added = LazyAttribute(lambda o: between(o.organization.date_added, anchor()))


class TeamFactory(MockseedFactory[Team]):
    """An active team of a new organization."""

    class Meta:
        model = Team

    organization = SubFactory(OrganizationFactory)
    name = pick(TEAM_NAMES)
    slug = LazyAttributeSequence(lambda o, n: f"{slugify(o.name)}-{n}")
    status = TeamStatus.ACTIVE
    date_added = LazyAttribute(lambda o: between(o.organization.date_added, anchor()))


class ProjectFactory(MockseedFactory[Project]):
    """An active project with releases; ``teams=[...]`` links teams to it."""

    class Meta:
        model = Project

    organization = SubFactory(OrganizationFactory)
    name = LazyFunction(lambda: f"{FAKER.word()}-{FAKER.random.choice(PROJECT_KINDS)}")
    slug = LazyAttributeSequence(lambda o, n: f"{slugify(o.name)}-{n}")
    platform = pick(PLATFORMS)
    status = ObjectStatus.ACTIVE
    flags = ProjectFlags.HAS_RELEASES
    date_added = LazyAttribute(lambda o: between(o.organization.date_added, anchor()))
    first_event = LazyAttribute(lambda o: between(o.date_added, anchor()))
    teams = link_each("teams")


class ProjectTeamFactory(MockseedFactory[ProjectTeam]):
    """A link between a new project and a new team of the same organization."""

    class Meta:
        model = ProjectTeam

    project = SubFactory(ProjectFactory)
    team = SubFactory(TeamFactory, organization=SelfAttribute("..project.organization"))


class EnvironmentFactory(MockseedFactory[Environment]):
    """An environment of a new organization; ``projects=[...]`` links projects."""

    class Meta:
        model = Environment

    organization = SubFactory(OrganizationFactory)
    name = LazyAttributeSequence(lambda o, n: f"{FAKER.random.choice(STAGES)}-{n}")
    date_added = LazyAttribute(lambda o: between(o.organization.date_added, anchor()))
    projects = link_each("projects")


class EnvironmentProjectFactory(MockseedFactory[EnvironmentProject]):
    """A link between a new project and a new environment of its organization."""

    class Meta:
        model = EnvironmentProject

    project = SubFactory(ProjectFactory)
    environment = SubFactory(
        EnvironmentFactory,
        organization=SelfAttribute("..project.organization"),
    )
    is_hidden = None


class OrganizationAccessRequestFactory(MockseedFactory[OrganizationAccessRequest]):
    """A member's request to join a team of their organization."""

    class Meta:
        model = OrganizationAccessRequest

    team = SubFactory(TeamFactory)
    member = SubFactory(
        OrganizationMemberFactory,
        organization=SelfAttribute("..team.organization"),
    )
    requester = None


def _expiry(broadcast: Any) -> datetime:
    """Broadcasts expire a week after they are added, as in the reference."""
    added: datetime = broadcast.date_added
    return added + timedelta(days=7)


class BroadcastFactory(MockseedFactory[Broadcast]):
    """An active announcement that expires seven days after it was added."""

    class Meta:
        model = Broadcast

    upstream_id = None
    title = LazyFunction(lambda: FAKER.sentence(nb_words=3)[:32])
    message = LazyFunction(lambda: FAKER.sentence(nb_words=16)[:256])
    link = LazyFunction(lambda: f"https://docs.example.com/{FAKER.slug()}/")
    is_active = True
    date_added = ago(14)
    date_expires = LazyAttribute(_expiry)
    cta = None
