"""Logging in and out and "my API keys" with plain form posts; CSRF tokens on every form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from vangnet.service.accounts import COOKIE_NAME

PASSWORD = "een lang genoeg wachtwoord"  # noqa: S105 - a test account


def _account(client: TestClient, rol: str = "aanvrager") -> str:
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    accounts.add_organisation("GM9901", "Gemeente Een (demo)", "gemeente")
    accounts.add_account("demo-fin", "GM9901", rol, PASSWORD)
    return "demo-fin"


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no hidden field {name}"
    return m[1]


def _login(client: TestClient, name: str, password: str = PASSWORD, back: str = "/account"):  # type: ignore[no-untyped-def]
    form = client.get(f"/inloggen?terug={back}").text
    data = {
        "formulier_token": _hidden(form, "formulier_token"),
        "terug": _hidden(form, "terug"),
        "gebruikersnaam": name,
        "wachtwoord": password,
    }
    return client.post("/inloggen", data=data, follow_redirects=False)


def test_login_errors_are_next_to_the_fields(client: TestClient) -> None:
    name = _account(client)
    r = _login(client, "", "")
    assert r.status_code == 400
    assert 'id="veld-gebruikersnaam-fout"' in r.text and 'id="veld-wachtwoord-fout"' in r.text
    assert 'href="#veld-gebruikersnaam"' in r.text
    r = _login(client, name, "verkeerd wachtwoord hier")
    assert r.status_code == 400
    assert "De gebruikersnaam of het wachtwoord klopt niet." in r.text
    assert COOKIE_NAME not in r.headers.get("set-cookie", "")


def test_the_login_form_needs_its_own_token(client: TestClient) -> None:
    name = _account(client)
    data = {"gebruikersnaam": name, "wachtwoord": PASSWORD, "formulier_token": "geraden"}
    r = client.post("/inloggen", data=data, follow_redirects=False)
    assert r.status_code == 403


def test_login_api_keys_and_logout(client: TestClient) -> None:
    name = _account(client)
    assert client.get("/account", follow_redirects=False).headers["location"] == (
        "/inloggen?terug=/account"
    )
    r = _login(client, name)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "Secure" in cookie
    page = client.get("/account").text
    assert "Mijn account" in page and "Gemeente Een (demo)" in page and "Uitloggen" in page
    csrf = _hidden(page, "csrf_token")

    # a form without the session's token is refused
    assert client.post("/account/sleutels", data={"naam": "x"}).status_code == 403
    # errors next to the field
    r = client.post("/account/sleutels", data={"csrf_token": csrf, "naam": "", "dagen": "veel"})
    assert r.status_code == 400
    assert 'id="veld-naam-fout"' in r.text and 'id="veld-dagen-fout"' in r.text
    # a new key, shown once
    r = client.post("/account/sleutels", data={"csrf_token": csrf, "naam": "financieel systeem"})
    assert r.status_code == 201
    token = re.search(r'id="nieuwe-sleutel">(vn_[^<]+)<', r.text)
    assert token
    assert client.get("/v1/health", headers={"Authorization": f"Bearer {token[1]}"}).is_success
    page = client.get("/account").text
    assert "financieel systeem" in page and token[1] not in page
    action = re.search(r'action="(/account/sleutels/[0-9a-f]+/intrekken)"', page)
    assert action
    r = client.post(action[1], data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "Ingetrokken" in client.get("/account").text
    assert (
        client.post(
            "/account/sleutels/bestaatniet/intrekken", data={"csrf_token": csrf}
        ).status_code
        == 404
    )

    # logging out needs the token too, then ends the session
    assert client.post("/uitloggen", data={"x": "1"}, follow_redirects=False).status_code == 403
    r = client.post("/uitloggen", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_login_goes_back_only_to_a_page_of_this_site(client: TestClient) -> None:
    name = _account(client)
    r = _login(client, name, back="//elders.example/x")
    assert r.headers["location"] == "/account"


def _menu(html: str) -> list[tuple[str, str]]:
    """The main menu's links: (address, words)."""
    nav = html.split('aria-label="Hoofdmenu"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a class="vn-nav__link" href="([^"]+)"[^>]*>([^<]+)</a>', nav)


def test_the_menu_shows_each_role_its_own_work(client: TestClient) -> None:
    public = [("/vooraf", "Vooraf beoordelen"), ("/regelsets", "Regels")]
    assert _menu(client.get("/").text) == [*public, ("/inloggen", "Inloggen")]
    accounts = client.app.state.accounts  # type: ignore[attr-defined]
    accounts.add_organisation("GM9901", "Gemeente Een (demo)", "gemeente")
    accounts.add_organisation("BZK", "Ministerie van BZK", "bzk")
    work = {
        "aanvrager": [("/aanvragen", "Aanvragen")],
        "beoordelaar": [("/beoordelen", "Beoordelen")],
        "auditor": [("/audit", "Controle")],
        "regelbeheerder": [],
        "beheerder": [],
    }
    for rol, links in work.items():
        name = f"menu-{rol}"
        accounts.add_account(name, "GM9901" if rol == "aanvrager" else "BZK", rol, PASSWORD)
        assert _login(client, name).status_code == 303
        page = client.get("/account")
        assert _menu(page.text) == [*public, *links, ("/account", "Mijn account")], rol
        assert 'aria-current="page">Mijn account' in page.text
        if links:
            html = client.get(links[0][0]).text
            assert f'aria-current="page">{links[0][1]}' in html, rol
        client.cookies.clear()


def test_a_page_for_an_account_sends_nobody_to_the_login_page(client: TestClient) -> None:
    for path in ("/account", "/aanvragen", "/beoordelen", "/audit/logboek"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/inloggen?terug={path}"
    r = client.post("/account/sleutels", data={"naam": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inloggen?terug=/account/sleutels"
