"""A circular's full text, split into its own numbered sections and paragraphs.

``read_document`` turns the bytes of a text PDF, a text file or a Markdown file
into text; ``split_sections`` turns that text into ``Passage`` records, one per
paragraph, each carrying the number of the section it belongs to, exactly as the
circular numbers it ("2.3.4", "4.1.2"), and the section's heading.

Circulars follow a common shape, and the splitter follows it:

* the covering letter numbers its paragraphs "1.", "2.", ... under capitalised
  headings (TUJUAN, LATAR BELAKANG, ...): each becomes section "1", "2", ...;
* the annex (after a line reading just "LAMPIRAN A") numbers its sections with
  dots ("2.3 FUNGSI-FUNGSI GovChat", "2.3.4 PERBUALAN DAN SALURAN UMUM"); a
  number followed by a short line is a heading, followed by a sentence it is the
  section's first paragraph and the heading is the nearest parent's;
* inside a section, list items ("a.", "i.", "1.") are paragraphs, labelled with
  their path ("a.iv"); lines that merely continue a paragraph are joined to it;
* unnumbered capitalised headings in the annex (TAKRIFAN, AKRONIM, BAB 5:
  PENUTUP, forms) start a section named by the heading;
* a table of contents ("2.3 FUNGSI-FUNGSI GovChat<TAB>5") is skipped.

A document with no numbering at all becomes one section per paragraph ("1",
"2", ...), so any text can be imported and quoted.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

MAX_HEADING_LENGTH = 90
CONTENTS_HEADINGS = frozenset({"KANDUNGAN", "ISI KANDUNGAN", "CONTENTS", "TABLE OF CONTENTS"})


class DocumentError(ValueError):
    """The document cannot be read; the message is one sentence in Malay and English."""


@dataclass(frozen=True)
class Passage:
    """One paragraph of a circular, where the circular puts it."""

    circular_id: str
    section: str  # "2.3.4", "4" (letter paragraph) or a heading such as "TAKRIFAN"
    heading: str  # the section's heading, e.g. "PERBUALAN DAN SALURAN UMUM"
    label: str  # the paragraph inside the section, e.g. "a.iv"; "" for its lead text
    text: str

    @property
    def reference(self) -> str:
        """"2.3.4 (a)(iv)": section and paragraph, the way a reader cites them."""
        parts = "".join(f"({part})" for part in self.label.split(".") if part)
        return f"{self.section} {parts}".strip()


def read_document(content: bytes, kind: str) -> str:
    """The text of a document; ``kind`` is "pdf" or "text" (plain or Markdown)."""
    if kind == "pdf":
        return _pdf_text(content)
    if kind == "text":
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DocumentError("Fail teks mesti dalam UTF-8. / A text file must be UTF-8.") from None
    raise DocumentError(f"Jenis dokumen '{kind}' tidak disokong (pdf, text). / Document kind '{kind}' is not supported (pdf, text).")


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError):
        raise DocumentError("Fail PDF tidak dapat dibaca. / The PDF file cannot be read.") from None
    text = "\n".join(pages)
    if not re.search(r"\w{3,}", text):
        raise DocumentError(
            "PDF ini tiada teks (mungkin imej imbasan); import versi teks. / "
            "This PDF holds no text (probably a scanned image); import a text version."
        )
    return text


# -- splitting -----------------------------------------------------------------

_DOTTED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){1,3})\.?(?:\s+(.*))?$")
_LETTER_PARAGRAPH = re.compile(r"^(\d{1,3})\.\s+(.+)$")
_ITEM = re.compile(r"^(\(?([a-z]|[ivx]{1,5}|\d{1,2})[.)])\s+(.+)$")
_CHAPTER = re.compile(r"^BAB\s+(\d+)\s*[:.\-–]?\s*(.*)$", re.IGNORECASE)
_ANNEX = re.compile(r"^LAMPIRAN\s+[A-Z]$")
_TOC_LINE = re.compile(r"\t\s*(?:\d+|[ivxlc]+)\s*$", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?(?:p|i|b|em|strong|pre|br|sup|sub|u|span|div)\b[^>]*>", re.IGNORECASE)
_TABLE_ROW = re.compile(r"^((\d{1,2}) \|)\s+(.+)$")
_ROMAN = re.compile(r"^[ivx]+$")
_MARKUP = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)|<br\s*/?>|^#+\s*")


@dataclass
class _Section:
    number: str
    heading: str
    paragraphs: list[tuple[str, list[str]]]


class _Splitter:
    def __init__(self) -> None:
        self.sections: list[_Section] = []
        self.headings: dict[str, str] = {}
        self.in_annex = False
        self.seen_dotted = False
        self.pending_heading = ""
        self.letter = ""
        self.previous_blank = True
        self.seen_chapter = False
        self.in_contents = False
        self.closed = False  # after the last chapter: forms and flowcharts, not text to quote

    # the current section and paragraph

    @property
    def current(self) -> _Section | None:
        return self.sections[-1] if self.sections else None

    def open_section(self, number: str, heading: str) -> None:
        self.sections.append(_Section(number, heading, []))
        self.letter = ""

    def add_paragraph(self, label: str, text: str) -> None:
        assert self.current is not None
        self.current.paragraphs.append((label, [text]))

    def continue_paragraph(self, text: str) -> None:
        assert self.current is not None
        if not self.current.paragraphs:
            self.current.paragraphs.append(("", [text]))
        else:
            self.current.paragraphs[-1][1].append(text)

    # one line at a time

    def feed(self, raw: str) -> None:
        line = _clean(raw)
        if not line:
            self.previous_blank = True
            return
        blank_before, self.previous_blank = self.previous_blank, False
        if _TOC_LINE.search(raw) or (self.in_contents and "\t" in raw):
            return  # a contents line: "2.3 FUNGSI-FUNGSI GovChat<TAB>5"
        if self.in_contents and not _is_capitalised_heading(line):
            return
        self.in_contents = line.upper() in CONTENTS_HEADINGS
        line = " ".join(line.replace("\t", " | ").split())
        if _ANNEX.match(line):
            self.in_annex = True
            return
        if self.closed and not (_DOTTED.match(line) or _CHAPTER.match(line)):
            return
        if self._dotted(line) or self._chapter(line) or self._letter_paragraph(line) or self._heading(line):
            return
        if self.current is None:
            return  # letterhead, addresses, recipients: not part of any section
        item = _ITEM.match(line) or _TABLE_ROW.match(line)
        if item and self._item(item.group(2), item.group(3)):
            return
        if blank_before and line[:1].isupper() and self.current.paragraphs:
            self.current.paragraphs.append(("", [line]))
        else:
            self.continue_paragraph(line)

    def _dotted(self, line: str) -> bool:
        match = _DOTTED.match(line)
        if not match:
            return False
        number, rest = match.group(1), (match.group(2) or "").strip()
        self.seen_dotted = True
        self.closed = False
        if rest and _looks_like_heading(rest):
            self.headings[number] = rest
            self.open_section(number, rest)
        else:
            self.open_section(number, self._parent_heading(number))
            if rest:
                self.add_paragraph("", rest)
        return True

    def _chapter(self, line: str) -> bool:
        match = _CHAPTER.match(line)
        if not match:
            return False
        self.seen_chapter, self.closed = True, False
        heading = f"BAB {match.group(1)}: {match.group(2)}".rstrip(": ")
        self.headings[match.group(1)] = heading
        self.open_section(f"BAB {match.group(1)}", heading)
        return True

    def _letter_paragraph(self, line: str) -> bool:
        """"4. Surat Pekeliling Am ..." in the covering letter: its own section "4"."""
        match = _LETTER_PARAGRAPH.match(line)
        if not match or self.in_annex or self.seen_dotted:
            return False
        self.open_section(match.group(1), self.pending_heading)
        self.add_paragraph("", match.group(2))
        return True

    def _heading(self, line: str) -> bool:
        if not _is_capitalised_heading(line):
            return False
        if self.in_annex and self.seen_chapter:
            self.closed = True
        elif self.in_annex:
            current = self.current
            if current is not None and not current.paragraphs and current.heading == "":
                current.heading = line
            else:
                self.open_section(line, line)
        else:
            self.pending_heading = line
        return True

    def _item(self, marker: str, text: str) -> bool:
        assert self.current is not None
        if marker.isdigit():
            self.letter = ""
            self.add_paragraph(marker, text)
        elif _ROMAN.match(marker) and not (len(marker) == 1 and self.letter and ord(marker) == ord(self.letter) + 1):
            label = f"{self.letter}.{marker}" if self.letter else marker
            self.add_paragraph(label, text)
        else:
            self.letter = marker
            self.add_paragraph(marker, text)
        return True

    def _parent_heading(self, number: str) -> str:
        parts = number.split(".")
        while len(parts) > 1:
            parts.pop()
            heading = self.headings.get(".".join(parts))
            if heading:
                return heading
        return ""


def split_sections(circular_id: str, text: str) -> tuple[Passage, ...]:
    """Every paragraph of a circular with its section number and heading, in order."""
    splitter = _Splitter()
    for raw in text.splitlines():
        splitter.feed(raw)
    passages = [
        Passage(circular_id, section.number, section.heading, label, " ".join(lines))
        for section in splitter.sections
        for label, lines in section.paragraphs
        if " ".join(lines).strip()
    ]
    if not passages:
        passages = _unnumbered(circular_id, text)
    return tuple(passages)


def _unnumbered(circular_id: str, text: str) -> list[Passage]:
    blocks = [" ".join(_clean(line) for line in block.splitlines()).strip() for block in re.split(r"\n\s*\n", text)]
    return [Passage(circular_id, str(index), "", "", block) for index, block in enumerate(filter(None, blocks), start=1)]


def _clean(raw: str) -> str:
    line = raw.strip()
    line = re.sub(r"^(?:[-•▪◦]\s*)+", "", line)
    line = _MARKUP.sub("", line).strip()
    line = _HTML_TAG.sub(" ", line).strip()
    line = re.sub(r"^\|?\s*-*\s*\|.*$", "", line) if set(line) <= set("|- ") else line
    return line.strip()


def _looks_like_heading(text: str) -> bool:
    if len(text) > MAX_HEADING_LENGTH or text.endswith((".", ":", ";", ",")):
        return False
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and (sum(c.isupper() for c in letters) / len(letters) > 0.6 or len(text.split()) <= 4)


def _is_capitalised_heading(line: str) -> bool:
    if len(line) > MAX_HEADING_LENGTH or len(line) < 4 or line.endswith((".", ",", ";")):
        return False
    if " | " in line or sum(c.isdigit() for c in line) > 2:
        return False  # a table row or a footer such as "NO. SIJIL : 027-ISO49"
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 4:
        return False
    upper = sum(c.isupper() for c in letters) / len(letters)
    return upper > 0.85
