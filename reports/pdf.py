"""The PDF: ReportLab's page layout (platypus) around the report's JSON figures.

Why ReportLab: BSD-licensed, maintained for over twenty years, installs from wheels
alone, lays out long tables across pages with their header repeated, and writes text
that ``pdftotext`` reads back (the tests rely on it). Fonts are the DejaVu faces that
matplotlib already ships, embedded, so French and the symbols print the same as in
the charts and no system font is needed. See docs/reports.md.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from reports.catalogue import Labels
from reports.numbers import Numbers

MARGIN = 2 * cm
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"

SECTION_ROOM = 4 * cm
"""Room a heading needs below it on the page: itself and a few lines of what follows."""


@cache
def _fonts() -> None:
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(ttf / "DejaVuSans-Bold.ttf")))


class Styles:
    """The few paragraph styles the reports use."""

    def __init__(self) -> None:
        _fonts()
        self.title = ParagraphStyle("title", fontName=BOLD, fontSize=18, leading=22)
        self.subtitle = ParagraphStyle(
            "subtitle",
            fontName=FONT,
            fontSize=10,
            leading=13,
            textColor=colors.HexColor("#444444"),
            spaceAfter=8,
        )
        self.h2 = ParagraphStyle(
            "h2",
            fontName=BOLD,
            fontSize=12,
            leading=15,
            spaceBefore=10,
            spaceAfter=4,
        )
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
        self.cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)
        self.cell_right = ParagraphStyle("cell_right", parent=self.cell, alignment=TA_RIGHT)
        self.cell_head = ParagraphStyle(
            "cell_head", parent=self.cell, fontName=BOLD, fontSize=7.5, leading=9.5
        )
        self.notice = ParagraphStyle(
            "notice",
            fontName=BOLD,
            fontSize=11,
            leading=14,
            borderColor=colors.HexColor("#c0392b"),
            borderWidth=1,
            borderPadding=6,
            spaceBefore=6,
            spaceAfter=10,
        )


class Writer:
    """Helpers that turn figures into flowables in one language."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = report
        self.lang: str = report["lang"]
        self.t = Labels(self.lang)
        self.n = Numbers(self.lang)
        self.s = Styles()
        self.tz = ZoneInfo(report["site"]["timezone"])

    def para(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(escape(text), style or self.s.body)

    def note(self, text: str) -> list[Flowable]:
        """A sentence under a table (there is nothing to list, say)."""
        return [Spacer(1, 4), self.para(text)]

    def lines(self, texts: list[str]) -> Paragraph:
        """Sentences one under the other, in one table cell."""
        return Paragraph("<br/>".join(escape(x) for x in texts), self.s.cell)

    def h2(self, key: str) -> Paragraph:
        return Paragraph(escape(self.t(key)), self.s.h2)

    def section(self, key: str) -> list[Flowable]:
        """A section heading, on a new page when too little of this one is left for
        the heading and the first lines under it."""
        return [CondPageBreak(SECTION_ROOM), self.h2(key)]

    def local(self, t: float | None) -> str:
        if t is None:
            return "—"
        return datetime.fromtimestamp(t, self.tz).strftime("%Y-%m-%d %H:%M")

    def yes_no(self, value: bool) -> str:
        return self.t("yes") if value else self.t("no")

    def table(
        self,
        header: list[str] | None,
        rows: list[list[Any]],
        widths: list[float] | None = None,
        align: str = "",
        shade: Sequence[tuple[int, int, str]] = (),
    ) -> Table:
        """A table, its header row (if any) repeated on each page. ``align`` has one
        letter per column, L or R (default: the first column L, figures R);
        ``shade`` colours cells: (column, row, colour)."""
        cells: list[list[Any]] = []
        if header is not None:
            cells.append([Paragraph(escape(h), self.s.cell_head) for h in header])
        for row in rows:
            cells.append(
                [
                    c
                    if isinstance(c, Flowable)
                    else Paragraph(
                        escape(str(c)),
                        self.s.cell_right if (align or "L" + "R" * 20)[i] == "R" else self.s.cell,
                    )
                    for i, c in enumerate(row)
                ]
            )
        total = A4[0] - 2 * MARGIN
        col_widths = [w * total for w in widths] if widths is not None else None
        first = 0 if header is None else 1
        table = Table(cells, colWidths=col_widths, repeatRows=first, hAlign="LEFT")
        style: list[Any] = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b0b8c4")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header is not None:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")))
        for col, row_no, colour in shade:
            cell = (col, row_no + first)
            style.append(("BACKGROUND", cell, cell, colors.HexColor(colour)))
        table.setStyle(TableStyle(style))
        return table

    def chart(self, png: bytes | None, title: str) -> list[Flowable]:
        """A chart under the name of its section (catalogue key ``title``), kept on one
        page with it: a chart that a page break parts from its table still says what
        it shows."""
        if png is None:
            return []
        image = Image(io.BytesIO(png))
        width, height = A4[0] - 2 * MARGIN, (A4[1] - 2 * MARGIN) * 0.6
        scale = min(width / image.drawWidth, height / image.drawHeight)
        image.drawWidth *= scale
        image.drawHeight *= scale
        caption = Paragraph(escape(self.t(title)), self.s.cell_head)
        return [Spacer(1, 6), KeepTogether([caption, Spacer(1, 2), image])]

    def head(self) -> list[Flowable]:
        """Title, site, period, and a plain statement when there is no data."""
        r, t, n = self.report, self.t, self.n
        p = r["period"]
        rows = [
            [t("head.site"), f"{r['site']['name']} ({r['site']['id']})"],
            [t("head.period"), self.period_words()],
            [t("head.timezone"), p["timezone"]],
            [t("head.days"), n.days(p["days"])],
            [t("head.generated"), self.local(r["generated_t"])],
        ]
        out: list[Flowable] = [
            Paragraph(escape(r["title"]), self.s.title),
            self.para(t(f"subtitle.{r['report']}"), self.s.subtitle),
            self.table(None, rows, widths=[0.25, 0.75], align="LL"),
        ]
        if not p["complete"]:
            out.append(Spacer(1, 4))
            out.append(self.para(t("head.until", until=self.local(p["until_t"]))))
        if r["empty"]:
            start, end = self.local(p["from_t"]), self.local(p["until_t"])
            out.append(Spacer(1, 8))
            out.append(self.para(t("no_data", start=start, end=end), self.s.notice))
        return out

    def period_words(self) -> str:
        p = self.report["period"]
        span = f"{p['first_day']} – {p['last_day']}"
        if self.report["report"] != "monthly":
            return span
        year, month = p["label"].split("-")
        return f"{self.t(f'month.{int(month)}')} {year} ({span})"

    def signatures(self, roles: list[str]) -> list[Flowable]:
        t = self.t
        line = "_" * 28
        cells = [
            [Paragraph(escape(t(role)), self.s.cell) for role in roles],
            *[
                [Paragraph(escape(f"{t(key)} {line}"), self.s.body) for _ in roles]
                for key in ("sign.name", "sign.signature", "sign.date")
            ],
        ]
        table = Table(
            cells, colWidths=[(A4[0] - 2 * MARGIN) / len(roles)] * len(roles), hAlign="LEFT"
        )
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, 0), BOLD),
                    ("TOPPADDING", (0, 1), (-1, -1), 14),
                    ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor("#b0b8c4")),
                    ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#d0d6de")),
                ]
            )
        )
        return [KeepTogether([self.h2("section.signatures"), table])]


def render(report: dict[str, Any], story: list[Flowable]) -> bytes:
    """Lay ``story`` out on A4 pages with a running head and "page x of y"."""
    labels = Labels(report["lang"])
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=report["title"],
        author="Vigie",
        subject=f"{report['site']['name']} — {report['period']['label']}",
        invariant=True,
    )
    frame = Frame(MARGIN, MARGIN, A4[0] - 2 * MARGIN, A4[1] - 2 * MARGIN, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    running = f"{report['title']} — {report['site']['name']} — {report['period']['label']}"

    def canvas(*args: Any, **kwargs: Any) -> Canvas:
        return _NumberedCanvas(running, labels, *args, **kwargs)

    doc.build(story, canvasmaker=canvas)
    return out.getvalue()


class _NumberedCanvas(Canvas):
    """Holds the pages until the end, so that each can say how many there are."""

    def __init__(self, running: str, labels: Labels, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running = running
        self._labels = labels
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._saved.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # the canvas's own page reset

    def save(self) -> None:
        total = len(self._saved)
        for number, state in enumerate(self._saved, start=1):
            self.__dict__.update(state)
            self._furniture(number, total)
            super().showPage()
        super().save()

    def _furniture(self, page: int, pages: int) -> None:
        width, height = A4
        self.saveState()
        self.setFont(FONT, 7)
        self.setFillColor(colors.HexColor("#666666"))
        self.drawString(MARGIN, height - MARGIN + 14, self._running)
        self.drawRightString(
            width - MARGIN, MARGIN - 18, self._labels("footer.page", page=page, pages=pages)
        )
        self.drawString(MARGIN, MARGIN - 18, "Vigie")
        self.restoreState()
