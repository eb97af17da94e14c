"""Findings of the security review of the API (accounts, authorisation, audit), each with the
test that failed before its fix, on SQLite and PostgreSQL (the `api` fixture)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.auth import Team
from tests.service.test_besluiten import decided
from vangnet.service.accounts import COOKIE_NAME

PASSWORD = "een lang genoeg wachtwoord"  # noqa: S105 - a test account's password

# odd ids in a path: NUL (PostgreSQL refuses it in a string), far too long, not UTF-8, a dot path
ODD_IDS = ("%00", "a%00b", "x" * 5000, "%C3%28", "%FF", "..", "%2e%2e%2fhealth")


def _session(team: Team) -> tuple[str, str]:
    """A signed-in session of an aanvrager of GM9901: (cookie token, CSRF token)."""
    team.organisation("GM9901")
    team.accounts.add_account("sessie-gm9901", "GM9901", "aanvrager", PASSWORD)
    new = team.accounts.login("sessie-gm9901", PASSWORD, "testclient")
    return new.token, new.csrf_token


def test_a_csrf_header_with_other_than_ascii_is_refused_not_a_500(api: TestClient) -> None:
    # hmac.compare_digest refuses str with non-ASCII characters (TypeError): a header a client
    # sends (latin-1) must be a 403 like any other wrong token, never a 500
    token, _ = _session(Team(api))
    for bad in ("é", "ÿ" * 43, "\x80"):
        r = api.post(
            "/v1/aanvragen",
            json={},
            headers={"Cookie": f"{COOKIE_NAME}={token}", "X-CSRF-Token": bad.encode("latin-1")},
        )
        assert r.status_code == 403, (bad, r.status_code, r.text)
        assert r.json()["code"] == "csrf"


@pytest.mark.parametrize(
    "template",
    [
        "/v1/aanvragen/{}",
        "/v1/aanvragen/{}/bijlagen",
        "/v1/besluiten/{}",
        "/v1/besluiten/{}/brief",
        "/v1/bijlagen/{}",
        "/v1/tokens/{}",
    ],
)
def test_odd_ids_are_not_found_never_a_500(team: Team, template: str) -> None:
    for actor in (team.gemeente, team.bzk, team.auditor):
        for odd in ODD_IDS:
            r = actor.get(template.format(odd))
            assert r.status_code in (400, 403, 404, 422), (actor, template, odd, r.text)


def test_odd_ids_in_changes_are_not_found_never_a_500(team: Team) -> None:
    for odd in ODD_IDS:
        for path, actor in (
            (f"/v1/aanvragen/{odd}/in-behandeling", team.bzk),
            (f"/v1/aanvragen/{odd}/intrekking", team.gemeente),
            (f"/v1/besluiten/{odd}/bezwaren", team.gemeente),
        ):
            r = actor.post(path)
            assert r.status_code in (400, 404, 422), (path, r.text)
        r = team.gemeente.delete(f"/v1/tokens/{odd}")
        assert r.status_code in (400, 404, 422), (odd, r.text)


def test_the_letter_as_html_from_the_api_may_run_nothing(team: Team) -> None:
    # the letter holds what the applicant typed (measure descriptions); as HTML it is served
    # as a document of its own: no script, nothing fetched, sandboxed (as the pages serve it)
    besluit = decided(team)
    r = team.gemeente.get(besluit["letter"]["href"], headers={"Accept": "text/html"})
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp, csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
