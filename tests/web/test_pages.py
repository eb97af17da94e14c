"""The public pages, the style sheets, the error pages and the headers every page carries."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from vangnet.ruleset import load_rulesets
from vangnet.web.render import PAGE_CSP
from vangnet.web.static import STYLE_SHEETS


def _main(html: str) -> str:
    """The text of <main>, tags removed."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_every_public_page_is_dutch_html_in_the_house_style(client: TestClient) -> None:
    for path, words in [
        ("/", "Vergoeding van beveiligingsmaatregelen"),
        ("/toegankelijkheid", "WCAG 2.1"),
        ("/privacy", "wij bewaren niets"),
        ("/regelsets", "Alle versies van de regels"),
        ("/vooraf", "Vooraf beoordelen"),
        ("/inloggen", "Gebruikersnaam"),
    ]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["Content-Security-Policy"] == PAGE_CSP
        html = r.text
        assert '<html lang="nl"' in html
        assert 'href="#inhoud"' in html and '<main id="inhoud"' in html
        assert "<nav" in html and "<header" in html and "<footer" in html
        assert "/stijl/huisstijl-componenten.css" in html
        assert "<script" not in html and "style=" not in html  # CSP: none of either
        assert words in _main(html), path


def test_the_privacy_page_names_the_retention_term(client: TestClient) -> None:
    assert "nog 7 jaar" in _main(client.get("/privacy").text)


def test_the_ruleset_list_shows_every_version_with_validity_status_and_hash(
    client: TestClient,
) -> None:
    html = client.get("/regelsets").text
    for versions in load_rulesets().values():
        for rs in versions:
            assert rs.sha256 in html
            assert f'href="/regelsets/{rs.id}/{rs.version}"' in html
    assert "vanaf 2016-02-10" in html and "Ja, ongewijzigd" in html
    assert "Simulatie (geen echte besluiten)" in html


def test_a_ruleset_page_explains_every_rule_with_parameters_and_sources(
    client: TestClient,
) -> None:
    rs = next(v for v in load_rulesets()["vangnet"] if v.version == "2016.1")
    r = client.get("/regelsets/vangnet/2016.1")
    assert r.status_code == 200
    text = _main(r.text)
    for rule in (*rs.line_rules, *rs.claim_rules):
        assert rule.id in text and rule.label in text
    for name in rs.spec.parameters:
        assert name in text
    for source in rs.spec.sources.values():
        assert source.title in text
    assert "Als " in text and "Dan " in text and "Uitleg:" in text
    assert client.get("/regelsets/vangnet/1999.1").status_code == 404


def test_the_diff_page_shows_what_changed_and_refuses_an_unknown_version(
    client: TestClient,
) -> None:
    r = client.get("/regelsets/verschil", params={"van": "vangnet@2016.1", "naar": "vangnet"})
    assert r.status_code == 200
    assert "Geen verschillen" in _main(r.text)
    herijking = load_rulesets()["vangnet-herijking"][0].key
    r = client.get("/regelsets/verschil", params={"van": "vangnet@2016.1", "naar": herijking})
    assert r.status_code == 200
    text = _main(r.text)
    assert "Gewijzigd" in text and "was" in text and "wordt" in text
    r = client.get("/regelsets/verschil", params={"van": "vangnet@2016.1", "naar": "x@9"})
    assert r.status_code == 400
    assert 'href="#veld-naar"' in r.text and 'id="veld-naar-fout"' in r.text


def test_style_sheets_are_only_the_listed_files(client: TestClient) -> None:
    for name in STYLE_SHEETS:
        r = client.get(f"/stijl/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith("text/css")
        assert "max-age" in r.headers["cache-control"]
    for name in ("index.css", "../package.json", "axe.min.js", "design-tokens/dist/index.css"):
        assert client.get(f"/stijl/{name}").status_code == 404
    assert client.get("/node_modules/axe-core/axe.min.js").status_code == 404


def test_error_pages_are_pages_outside_v1_and_problems_inside(client: TestClient) -> None:
    r = client.get("/bestaat-niet")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Deze pagina bestaat niet" in r.text and 'lang="nl"' in r.text
    r = client.delete("/privacy")
    assert r.status_code == 405 and "Dit kan niet op deze pagina" in r.text
    r = client.get("/v1/bestaat-niet")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_in_a_page_is_the_500_page_without_details(
    client: TestClient,
) -> None:
    from vangnet.web.errors import PageRoute

    def broken() -> None:
        raise RuntimeError("geheime details die niet naar buiten mogen")

    client.app.router.routes.append(  # type: ignore[attr-defined]
        PageRoute("/kapot", broken, methods=["GET"])
    )
    r = client.get("/kapot")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "Er ging iets mis" in r.text
    assert "geheime" not in r.text and "Traceback" not in r.text
