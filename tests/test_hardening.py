"""Hardening: `check --deploy` is clean with production settings, HTTPS is enforced (except for
/healthz), every response carries a Content Security Policy that no page needs to bend, and the
error pages look like the product and leak nothing."""

import datetime as dt
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management.utils import get_random_secret_key
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from tests import factories
from tests.test_url_matrix import MATRIX, build_world

PROJECT = Path(__file__).resolve().parent.parent
# Variables the Makefile's TEST_ENV (or a developer's shell) may set that would soften the check.
_SOFTENING = {
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in _SOFTENING}
    env.update(
        DEBUG="0",
        SECRET_KEY=get_random_secret_key(),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="comps.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200
    secure = client.get(reverse("login"), secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.django_db
def test_every_response_carries_a_content_security_policy_without_inline_code(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


_INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),  # an inline script
    re.compile(r"<style\b", re.IGNORECASE),
    re.compile(r"\sstyle=", re.IGNORECASE),
    re.compile(r"\son[a-z]+=", re.IGNORECASE),  # onclick= and friends
]


@pytest.mark.django_db
def test_no_page_needs_inline_scripts_or_styles(client):
    """Every page an admin can open (the widest view) renders within the policy."""
    world = build_world()
    client.force_login(factories.admin())
    checked = 0
    for name, (args, _expected) in MATRIX.items():
        if name.startswith("admin:"):
            continue
        response = client.get(reverse(name, args=args(world)))
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        for pattern in _INLINE:
            assert not pattern.search(html), f"{name}: {pattern.search(html).group(0)}"
        checked += 1
    assert checked >= 15  # the HTML pages among them


@pytest.mark.django_db
def test_error_pages_look_like_the_product_and_leak_nothing(client):
    client.force_login(factories.issuer())
    missing = client.get("/no/such/page/?token=sekrit-value")
    assert missing.status_code == 404
    assert "Page not found" in missing.content.decode()
    assert "sekrit-value" not in missing.content.decode()
    assert "bootstrap/css/bootstrap.min.css" in missing.content.decode()

    forbidden = client.get(reverse("credential-list"))
    assert forbidden.status_code == 403
    assert "You are not allowed to do this" in forbidden.content.decode()

    crashed = server_error(RequestFactory().get("/issuances/1/?q=sekrit-value"))
    assert crashed.status_code == 500
    assert "Something went wrong on our side" in crashed.content.decode()
    assert "sekrit-value" not in crashed.content.decode()
    assert "Traceback" not in crashed.content.decode()


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    admin = factories.admin()
    client.force_login(admin)
    response = client.post(
        reverse("user-new"),
        {"username": "mallory", "email": "m@example.com", "role": "Admin", "password": "x" * 20},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="mallory").exists()


@pytest.mark.django_db
def test_a_session_ends_after_session_cookie_age(client, settings):
    client.force_login(factories.issuer())
    assert client.get("/").status_code == 200
    with time_machine.travel(
        timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    ):
        response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_refused_page_is_one_log_line_not_a_traceback_naming_its_route(issuer_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = issuer_client.get(reverse("credential-list"))
    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    # The route, never the path: a guest page's path is its key.
    assert record.getMessage() == "Forbidden: credential-list"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_keeps_its_traceback_in_the_log():
    from backoffice.logging import ClientErrorsOnOneLine

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    record.status_code = 500
    assert ClientErrorsOnOneLine().filter(record) is True
    assert record.exc_info is not None
