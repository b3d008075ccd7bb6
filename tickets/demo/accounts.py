"""Demo data for `make run`: one user per role and a credential that points at the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from tickets import roles
from tickets.fourvenues.sandbox import DEFAULT_API_KEY
from tickets.models import AuthScheme, Credential, Environment
from tickets.services import credentials, users

DEMO_CREDENTIAL_NAME = "Sandbox (demo)"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("issuer", "Ivy", roles.ISSUER),
    ("manager", "Max", roles.MANAGER),
    ("admin", "Ada", roles.ADMIN),
)


@transaction.atomic
def seed_demo(*, password: str, sandbox_port: int) -> tuple[list[DemoLogin], Credential]:
    """Create (or reset) the demo users and the sandbox credential. Safe to run repeatedly."""
    user_model = get_user_model()
    logins = []
    for username, first_name, role in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "email": f"{username}@comps.invalid"},
        )
        user.set_password(password)
        user.is_active = True
        user.save()
        users.apply_role(user=user, role=role)
        logins.append(DemoLogin(username=username, password=password, role=role))

    base_url = f"http://127.0.0.1:{sandbox_port}/integrations"
    credential = Credential.objects.filter(name=DEMO_CREDENTIAL_NAME).first()
    if credential is None:
        credential = credentials.register_credential(
            name=DEMO_CREDENTIAL_NAME,
            environment=Environment.ALPHA,
            auth_scheme=AuthScheme.API_KEY,
            api_key=DEFAULT_API_KEY,
            base_url_override=base_url,
            notes="Points at the bundled Fourvenues sandbox (manage.py fourvenues_sandbox).",
            actor=None,
        )
    elif credential.base_url_override != base_url:
        credential.base_url_override = base_url
        credential.save(update_fields=["base_url_override", "updated_at"])
    return logins, credential
