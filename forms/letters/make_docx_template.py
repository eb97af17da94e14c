"""Build `letter.docx`, the docxtpl template of the editable DOCX letter, from this script.

The DOCX template is a Word file with jinja2 tags (docxtpl syntax: `{{ value }}` in a run,
`{%p ... %}` alone in a paragraph, `{%tr ... %}` alone in a table row). It is generated here so
that its content can be reviewed as text and rebuilt exactly; it may also be edited in Word or
LibreOffice afterwards, as long as the tags stay intact. It uses the same context as
`letter.html.j2` (see `vangnet.letters.letter_context`).

    .venv/bin/python forms/letters/make_docx_template.py   # writes forms/letters/letter.docx
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent / "letter.docx"
FONT = "DejaVu Sans"
GREY = RGBColor(0x44, 0x44, 0x44)


class _Builder:
    def __init__(self) -> None:
        self.doc = Document()
        normal = self.doc.styles["Normal"]
        normal.font.name = FONT  # type: ignore[attr-defined]
        normal.font.size = Pt(10)  # type: ignore[attr-defined]
        for name in ("Heading 1", "Heading 2", "Heading 3", "Title"):
            style = self.doc.styles[name]
            style.font.name = FONT  # type: ignore[attr-defined]
            style.font.color.rgb = RGBColor(0x11, 0x11, 0x11)  # type: ignore[attr-defined]
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.4)
        section.left_margin, section.right_margin = Cm(2.5), Cm(2.0)
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = header.add_run("{{ marker }}")
        run.bold = True
        run.font.color.rgb = RGBColor(0x8B, 0x00, 0x00)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        footer.add_run("{{ kenmerk }}").font.size = Pt(8)
        props = self.doc.core_properties
        props.author = "vangnet"
        props.title = "{{ title }}"
        props.language = "nl-NL"
        props.created = props.modified = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        props.revision = 1

    def p(self, text: str = "", *, bold: bool = False, small: bool = False,
          right: bool = False, style: str | None = None) -> Paragraph:  # fmt: skip
        para = self.doc.add_paragraph(style=style)
        if text:
            run = para.add_run(text)
            run.bold = bold
            if small:
                run.font.size = Pt(8)
                run.font.color.rgb = GREY
        if right:
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        return para

    def tag(self, tag: str) -> None:
        """A docxtpl paragraph tag: the paragraph disappears when rendered."""
        self.doc.add_paragraph(tag)

    def h(self, text: str, level: int) -> None:
        self.doc.add_heading(text, level=level)

    def table(self, rows: list[list[str]], *, style: str = "Table Grid") -> Table:
        table = self.doc.add_table(rows=len(rows), cols=len(rows[0]))
        table.style = self.doc.styles[style]
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                cell = table.cell(r, c)
                cell.text = text
                for para in cell.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(8)
        return table

    def findings(self) -> None:
        self.tag("{%p for f in findings %}")
        self.h("{{ f.label }}", 3)
        self.p("{{ f.effect_text }} {{ f.explanation }}{% if f.note %} {{ f.note }}{% endif %}")
        self.p("{{ rule_label }} {{ f.rule }}. {{ source_label }} {{ f.source }}", small=True)
        self.tag("{%p endfor %}")


def _head(b: _Builder) -> None:
    """Sender, addressee, the reference table, title and introduction."""
    b.p("{{ body.organisation }}", bold=True, right=True)
    b.p("{{ body.department }}", right=True)
    b.tag("{%p for line in body.address %}")
    b.p("{{ line }}", right=True)
    b.tag("{%p endfor %}")
    b.p("{{ body.phone }}", right=True)
    b.p("{{ body.email }}", right=True)
    b.tag("{%p for line in addressee %}")
    b.p("{{ line }}")
    b.tag("{%p endfor %}")
    b.p()
    b.table(
        [
            ["{{ labels.kenmerk }}", "{{ kenmerk }}"],
            ["{{ labels.datum }}", "{{ letter_date.text }}"],
            ["{{ labels.aanvraag }}", "{{ claim.id }}"],
            ["{{ labels.peildatum }}", "{{ claim.reference_date.text }}"],
            ["{{ labels.regeling }}", "{{ scheme_title }}"],
            ["{{ labels.onderwerp }}", "{{ labels.onderwerp_tekst }}"],
        ],
        style="Normal Table",
    )
    b.h("{{ title }}", 1)
    b.p("{{ greeting }}")
    b.p("{{ intro }}")


def _decision_or_request(b: _Builder) -> None:
    """A decision with its reasons, or a request for supplementary information."""
    b.tag("{%p if kind == 'besluit' %}")
    b.h("{{ headings.besluit }}", 2)
    para = b.p("{{ decision_text }}", bold=True)
    para.add_run(" {{ vat }}")
    # an assessor's besluit: what the calculation gave (an override), the motivation
    b.tag("{%p if assessor and assessor.override_text %}")
    b.p("{{ assessor.override_text }}")
    b.tag("{%p endif %}")
    b.tag("{%p if assessor and assessor.motivation %}")
    b.h("{{ assessor.motivation_heading }}", 2)
    b.p("{{ assessor.motivation }}")
    b.tag("{%p endif %}")
    b.h(
        "{% if assessor %}{{ assessor.reasons_heading }}{% else %}{{ headings.redenen }}"
        "{% endif %}",
        2,
    )
    b.p("{{ reasons_intro }}")
    b.tag("{%p if interpretation %}")
    b.p("{{ interpretation }}")
    b.tag("{%p endif %}")
    b.findings()
    # or a request for supplementary information
    b.tag("{%p else %}")
    b.h("{{ headings.verzoek }}", 2)
    b.p("{{ request.deadline_text }}", bold=True)
    b.p("{{ request.list_intro }}")
    b.tag("{%p for item in request['items'] %}")
    b.p("{{ item }}", style="List Bullet")
    b.tag("{%p endfor %}")
    b.p("{{ request.send }}")
    b.p("{{ request.late }} {{ request.not_a_decision }}")
    b.p("{{ source_label }} {{ request.sources|join('; ') }}", small=True)
    b.h("{{ headings.beoordeeld }}", 2)
    b.p("{{ decision_text }} {{ vat }}")
    b.p("{{ reasons_intro }}")
    b.tag("{%p if interpretation %}")
    b.p("{{ interpretation }}")
    b.tag("{%p endif %}")
    b.findings()
    b.tag("{%p endif %}")


def _measures(b: _Builder) -> None:
    """The table of measure lines (one row per line, docxtpl {%tr %})."""
    b.h("{{ headings.maatregelen }}", 2)
    b.p(
        "{{ measures.intro }} {{ measures.reference }}"
        "{% if measures.estimate %} {{ measures.estimate }}{% endif %}"
    )
    table = b.table(
        [
            [
                "{{ measures.columns.nummer }}",
                "{{ measures.columns.maatregel }}",
                "{{ measures.columns.gevraagd }}",
                "{{ measures.columns.referentie }}",
                "{{ measures.columns.vergoedbaar }}",
                "{{ measures.columns.toelichting }}",
            ],
            ["{%tr for line in lines %}", "", "", "", "", ""],
            [
                "{{ line.number }}",
                "{{ line.description }}{% if line.catalogue_name %}"
                " ({{ line.catalogue_name }}){% endif %}",
                "{{ line.claimed }}",
                "{{ line.reference }}{% if line.estimate %} ({{ line.estimate }}){% endif %}",
                "{{ line.eligible }}",
                "{{ line.reason }}",
            ],
            ["{%tr endfor %}", "", "", "", "", ""],
            [
                "",
                "{{ measures.total_label }}",
                "{{ measures.total_claimed }}",
                "",
                "{{ measures.total_eligible }}",
                "",
            ],
        ]
    )
    for cell in (*table.rows[0].cells, *table.rows[4].cells):
        for run in cell.paragraphs[0].runs:
            run.bold = True
    widths = [Cm(0.9), Cm(3.4), Cm(2.2), Cm(2.2), Cm(2.2), Cm(5.6)]
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _tail(b: _Builder) -> None:
    """The objection clause, questions, signature and the auditors' data."""
    b.tag("{%p if objection %}")
    b.h("{{ objection.heading }}", 2)
    b.p("{{ objection.term }}")
    b.p("{{ objection.to }} {{ objection.how }}")
    b.p("{{ objection.content_intro }}")
    b.tag("{%p for item in objection.content %}")
    b.p("{{ item }}", style="List Bullet")
    b.tag("{%p endfor %}")
    b.p("{{ source_label }} {{ objection.sources|join('; ') }}", small=True)
    b.tag("{%p endif %}")
    # or, in a decision on an objection, the appeal clause
    b.tag("{%p if appeal %}")
    b.h("{{ appeal.heading }}", 2)
    b.p("{{ appeal.term }}")
    b.p("{{ appeal.to }} {{ appeal.how }}")
    b.p("{{ appeal.content_intro }}")
    b.tag("{%p for item in appeal.content %}")
    b.p("{{ item }}", style="List Bullet")
    b.tag("{%p endfor %}")
    b.p("{{ source_label }} {{ appeal.sources|join('; ') }}", small=True)
    b.tag("{%p endif %}")
    # questions, signature, and the auditors' data
    b.h("{{ headings.vragen }}", 2)
    b.p("{{ questions }}")
    b.p("{{ closing }}")
    b.p()
    b.tag("{%p for line in body.signature %}")
    b.p("{{ line }}")
    b.tag("{%p endfor %}")
    b.h("{{ headings.controle }}", 2)
    b.p("{{ audit_intro }}", small=True)
    b.table(
        [
            ["{%tr for row in audit %}", ""],
            ["{{ row.label }}", "{{ row.value }}"],
            ["{%tr endfor %}", ""],
        ],
        style="Normal Table",
    )


def build() -> bytes:
    """The template as DOCX bytes."""
    b = _Builder()
    _head(b)
    _decision_or_request(b)
    _measures(b)
    _tail(b)
    out = BytesIO()
    b.doc.save(out)
    return _fixed_timestamps(out.getvalue())


def _fixed_timestamps(data: bytes) -> bytes:
    """The same zip with one fixed time on every entry: the same script, the same bytes."""
    out = BytesIO()
    with ZipFile(BytesIO(data)) as src, ZipFile(out, "w", ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = ZIP_DEFLATED
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"geschreven: {OUT}")
