import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/admin/"])
def test_pages_redirect_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.django_db
def test_login_page_renders_with_local_assets(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "bootstrap/css/bootstrap.min.css" in html
    assert "django_htmx/htmx-2.min.js" in html
    assert 'rel="icon" href="/static/img/favicon.svg"' in html  # not a 404 on /favicon.ico
    assert finders.find("img/favicon.svg")
    assert "https://" not in html  # no CDN


@pytest.mark.django_db
def test_login_with_valid_credentials_reaches_home(client):
    User.objects.create_user("ivy", password="a-long-password-1")
    response = client.post(
        "/accounts/login/", {"username": "ivy", "password": "a-long-password-1"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"
    assert b"Welcome" in response.content


@pytest.mark.django_db
def test_login_with_a_wrong_password_says_so_and_stays_anonymous(client):
    User.objects.create_user("ivy", password="a-long-password-1")
    response = client.post("/accounts/login/", {"username": "ivy", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(client):
    user = User.objects.create_user("ivy", password="a-long-password-1")
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_sends_the_browser_to_login(client):
    response = client.get("/issuances/1/progress/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/")
