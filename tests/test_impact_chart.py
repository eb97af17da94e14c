"""The impact chart (`vangnet.impact_chart`): a standalone SVG that parses as XML, labelled by
its title and description, with the same numbers as a table and as sentences."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

from vangnet.impact_chart import impact_description, impact_svg, impact_table, text_width
from vangnet.replay import (
    ClaimReplay,
    FindingChange,
    ReplayReport,
    load_size_classes,
    resolve_target,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output, no entities


def _claim(n: int, size: str, outcomes: tuple[str, str], cents: tuple[int, int]) -> ClaimReplay:
    (old, new), (old_cents, new_cents) = outcomes, cents
    return ClaimReplay(
        aanvraag_id=f"{n:032x}",
        claim_id=f"C{n}",
        scheme="vangnet",
        reference_date=date(2017, 1, 1),
        size_class=size,
        advice_ruleset="vangnet@2016.1",
        advice_outcome=old,
        advice_cents=old_cents,
        besluit_outcome=None,
        besluit_cents=None,
        status="herberekend",
        new_outcome=new,
        new_cents=new_cents,
        changes=(FindingChange("VN-DREIGING", "afwijzen", "voldaan"),) if old != new else (),
    )


def _report(results: list[ClaimReplay], sizes_path: Path | None = None) -> ReplayReport:
    now = datetime.now(UTC)
    return ReplayReport(
        target=resolve_target("vangnet-herijking@2018.1"),
        schemes=("vangnet",),
        between=None,
        size_classes=load_size_classes(sizes_path),
        results=results,
        started_at=now,
        finished_at=now,
        processes=1,
    )


REPORT = _report(
    [
        _claim(1, "klein", ("afwijzen", "toekennen"), (0, 500_000)),
        _claim(2, "klein", ("afwijzen", "gedeeltelijk"), (0, 120_050)),
        _claim(3, "klein", ("toekennen", "toekennen"), (10_000, 10_000)),
        _claim(4, "groot", ("afwijzen", "nader_onderzoek"), (0, 0)),
        _claim(5, "middel", ("gedeeltelijk", "gedeeltelijk"), (5_000, 5_000)),
    ]
)


def test_the_chart_is_xml_with_title_description_and_a_role() -> None:
    root = _parse(impact_svg(REPORT))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "titel beschrijving"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "titel"
    assert desc is not None and desc.get("id") == "beschrijving"
    assert "vangnet-herijking@2018.1" in (title.text or "")
    text = desc.text or ""
    assert "5 aanvragen" in text and "3 slaat de uitkomst om" in text
    assert "+€ 6.200,50" in text  # 5,000.00 + 1,200.50
    assert "afwijzen naar toekennen: 1" in text and "simulatie" in text
    # one bar segment per flip direction per class, each with its own title
    segments = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(segments) == 3


def test_the_table_equivalent_has_the_same_numbers() -> None:
    rows = impact_table(REPORT)
    assert rows[0][:2] == ["Gemeentegrootte", "Aanvragen"]
    assert rows[0][-2:] == ["Omgeslagen", "Verschil"]
    assert "afwijzen → toekennen" in rows[0]
    by_class = {r[0]: r for r in rows[1:]}
    small = by_class["klein (minder dan 40.000 inwoners)"]
    assert small[1] == "3" and small[-2] == "2" and small[-1] == "+€ 6.200,50"
    assert by_class["groot (meer dan 100.000 inwoners)"][-1] == "€ 0,00"
    assert len(rows) == 4  # classes without claims are left out
    assert impact_description(REPORT).startswith("Herberekening van 5 aanvragen")


def test_an_empty_replay_and_labels_that_need_escaping(tmp_path: Path) -> None:
    path = tmp_path / "sizes.yaml"
    path.write_text(
        "source: {title: t}\n"
        "classes: [{key: a, label: 'klein <&> \"x\"', from: 1, to: null, basis: b}]\n"
        "unknown: {key: o, label: O}\n",
        "utf-8",
    )
    root = _parse(impact_svg(_report([], path)))
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Geen aanvragen herberekend." in texts
    flipped = _report([_claim(1, "a", ("afwijzen", "toekennen"), (0, 1))], path)
    root = _parse(impact_svg(flipped))
    assert any((t.text or "").startswith('klein <&> "x"') for t in root.iter(f"{SVG}text"))


def test_no_text_runs_off_the_chart_or_into_a_bar() -> None:
    """Every direction, large amounts and counts: each text's estimated box lies inside the
    chart and overlaps no bar (the layout the replay's chart was first drawn without: labels
    ran into the bars and the amounts off the right edge)."""
    outcomes = ("afwijzen", "gedeeltelijk", "toekennen", "nader_onderzoek")
    results = [
        _claim(n, size, (old, new), (0, 987_654_321_00))
        for n, (size, old, new) in enumerate(
            (size, old, new)
            for size in ("klein", "middel", "groot")
            for old in outcomes
            for new in outcomes
            if old != new
        )
    ]
    root = _parse(impact_svg(_report(results * 3)))
    width = float(root.get("width", "0"))
    bars = [
        (float(r.get("x", "0")), float(r.get("y", "0")), float(r.get("width", "0")), 22.0)
        for r in root.iter(f"{SVG}rect")
        if r.get("height") == "22"
    ]
    texts = list(root.iter(f"{SVG}text"))
    assert len(texts) > 10 and bars
    for t in texts:
        size = int(t.get("font-size", "13"))
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        right = x + text_width(t.text or "", size)
        assert right <= width, f"{t.text!r} ends at {right:.0f} px, the chart is {width:.0f}"
        top = y - size
        for bx, by, bw, bh in bars:
            overlaps = x < bx + bw and bx < right and top < by + bh and by < y
            assert not overlaps, f"{t.text!r} runs into a bar at ({bx:.0f}, {by:.0f})"


def test_every_direction_has_a_fill_of_its_own() -> None:
    outcomes = ("afwijzen", "gedeeltelijk", "toekennen", "nader_onderzoek")
    results = [
        _claim(n, "klein", (old, new), (0, 100))
        for n, (old, new) in enumerate((a, b) for a in outcomes for b in outcomes if a != b)
    ]
    root = _parse(impact_svg(_report(results)))
    legend = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("width") == "14"]
    assert len(legend) == 12 and len(set(legend)) == 12
    patterns = {p.get("id") for p in root.iter(f"{SVG}pattern")}
    assert {f.removeprefix("url(#").removesuffix(")") for f in legend if f.startswith("url")} == (
        patterns
    )
