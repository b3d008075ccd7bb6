"""People and their roles: the in-app users page's writes. Every change is audited; a password
never is (not even its length)."""

from __future__ import annotations

from axes.utils import reset as reset_failed_logins
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets import roles
from tickets.services import audit


class UserError(Exception):
    """A user cannot be created or changed; the message is fit for staff."""


def role_of(user: User) -> str:
    """The user's role ("" if none). One role per person: the groups nest, Admin > Manager >
    Issuer, so a single membership says everything."""
    names = {group.name for group in user.groups.all()}
    return next((role for role in reversed(roles.ALL_ROLES) if role in names), "")


def apply_role(*, user: User, role: str) -> None:
    """The role's group, and Django's admin site for admins: the reasons and supplements they
    keep are edited there. A superuser keeps the admin site whatever the role. Not audited
    here: the callers on the users page are; the demo seeding is not."""
    if role and role not in roles.ALL_ROLES:
        raise UserError(_("Unknown role “%(role)s”.") % {"role": role})
    user.groups.remove(*Group.objects.filter(name__in=roles.ALL_ROLES))
    if role:
        user.groups.add(Group.objects.get(name=role))
    user.is_staff = role == roles.ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError(" ".join(exc.messages)) from exc


@transaction.atomic
def create_user(
    *,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    role: str,
    password: str,
    actor: AbstractBaseUser,
) -> User:
    """Create a login with a first password the admin hands over (the person should change it)."""
    if User.objects.filter(username__iexact=username).exists():
        raise UserError(_("The username “%(username)s” is taken.") % {"username": username})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    apply_role(user=user, role=role)
    audit.record(action="user.created", actor=actor, target=user, data={"role": role})
    return user


@transaction.atomic
def set_role(*, user: User, role: str, actor: AbstractBaseUser) -> None:
    previous = role_of(user)
    if previous == role:
        return
    if user.pk == actor.pk and previous == roles.ADMIN:
        raise UserError(_("You cannot take away your own admin role; ask another admin."))
    apply_role(user=user, role=role)
    audit.record(
        action="user.role_changed",
        actor=actor,
        target=user,
        data={"from": previous, "to": role},
    )


@transaction.atomic
def set_active(*, user: User, active: bool, actor: AbstractBaseUser) -> None:
    """Deactivate (the person can no longer log in; their history stays) or reactivate."""
    if user.is_active == active:
        return
    if user.pk == actor.pk:
        raise UserError(_("You cannot deactivate yourself."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(
        action="user.reactivated" if active else "user.deactivated",
        actor=actor,
        target=user,
    )


@transaction.atomic
def reset_password(*, user: User, password: str, actor: AbstractBaseUser) -> None:
    """Set a new password chosen by the admin, e.g. for someone locked out of their account
    (the lockout is lifted too)."""
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    reset_failed_logins(username=user.get_username())
    audit.record(action="user.password_reset", actor=actor, target=user)


@transaction.atomic
def lift_lockout(*, user: User, actor: AbstractBaseUser) -> None:
    """Let someone locked out after too many failed sign-ins try again at once, keeping their
    password: e.g. an admin another person locked out by typing their name wrongly."""
    reset_failed_logins(username=user.get_username())
    audit.record(action="user.unlocked", actor=actor, target=user)
