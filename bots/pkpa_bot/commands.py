"""What users type to Bot-GovChat, and the answers, as plain functions (no Matrix here).

Commands (Malay or English, with or without a leading "!"):
  bantuan | help                    how to use the bot
  cari | search <words>             search (also what any other text does)
  butiran | details <PKPA 1/2021>   one circular in full
  senarai | list [kind] [year]      circulars of a kind and/or year
  tentang | about                   what the bot is and where its facts come from
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bots.pkpa_bot.search import Circular, PassageAnswer, SearchEngine, SearchResult
from bots.pkpa_bot.search.corpus import STATUS_AMENDED, STATUS_CANCELLED, STATUS_IN_FORCE
from bots.pkpa_bot.search.passages import excerpt, highlight

MAX_QUESTION_LENGTH = 300
MAX_RESULTS = 5

_COMMAND_WORDS = {
    "bantuan": "help", "help": "help",
    "cari": "search", "search": "search",
    "butiran": "details", "details": "details",
    "senarai": "list", "list": "list",
    "tentang": "about", "about": "about",
}


@dataclass(frozen=True)
class Reply:
    """One answer: plain text for any client, HTML for formatted ones."""

    plain: str
    html: str


@dataclass(frozen=True)
class Command:
    name: str  # help, search, details, list, about
    argument: str
    truncated: bool = False


def parse_command(text: str) -> Command:
    """Read a message (already stripped of any mention of the bot)."""
    cleaned = " ".join(text.split())
    truncated = len(cleaned) > MAX_QUESTION_LENGTH
    cleaned = cleaned[:MAX_QUESTION_LENGTH]
    first, _, rest = cleaned.partition(" ")
    name = _COMMAND_WORDS.get(first.lstrip("!").lower())
    if name is None:
        return Command("search", cleaned, truncated)
    if name == "search" and not rest:
        return Command("help", "", truncated)
    return Command(name, rest, truncated)


def is_explicit_command(text: str) -> bool:
    """A group message addressed to the bot by command, e.g. "!cari cuti"."""
    first = text.strip().split(" ", 1)[0]
    return first.startswith("!") and first[1:].lower() in _COMMAND_WORDS


def answer(command: Command, engine: SearchEngine) -> Reply:
    if command.name == "help":
        reply = help_reply()
    elif command.name == "about":
        reply = about_reply(len(engine.circulars))
    elif command.name == "details":
        reply = details_reply(command.argument, engine)
    elif command.name == "list":
        reply = list_reply(command.argument, engine)
    else:
        reply = question_reply(command.argument, engine)
    if command.truncated:
        note = f"(Soalan anda dipendekkan kepada {MAX_QUESTION_LENGTH} aksara. / Your question was shortened to {MAX_QUESTION_LENGTH} characters.)"
        reply = Reply(plain=f"{note}\n{reply.plain}", html=f"<p><em>{html.escape(note)}</em></p>{reply.html}")
    return reply


# Words that ask for circulars rather than for what they say ("pekeliling tentang cuti").
_LIST_WORDS = re.compile(r"\b(pekeliling|circulars?|surat pekeliling|senarai|which circular)\b", re.IGNORECASE)


def question_reply(question: str, engine: SearchEngine) -> Reply:
    """Quote the paragraphs that answer a question; name circulars when that is what is asked.

    A numbered reference or a listing ("PKPA 1/2021", "PKPA 2021") and a question
    about circulars ("pekeliling tentang ...") get the circulars. Otherwise the
    paragraphs win when they explain more of the question than any circular's
    title and subject do; with neither, an honest "not found".
    """
    circulars = engine.search(question, limit=MAX_RESULTS)
    if circulars.reference is not None or (circulars.found and circulars.hits[0].matched_by == "listing"):
        return search_reply(circulars)
    if circulars.found and _LIST_WORDS.search(question):
        return search_reply(circulars)
    passages = engine.search_passages(question)
    if passages.found and (not circulars.found or passages.share_explained >= circulars.share_explained):
        return passage_reply(passages, engine)
    return search_reply(circulars)


def passage_reply(answer: PassageAnswer, engine: SearchEngine) -> Reply:
    heading = "Jawapan daripada teks pekeliling / From the circulars' text:"
    plain_lines = [heading]
    items = []
    for index, hit in enumerate(answer.hits, start=1):
        passage, circular = hit.passage, hit.circular
        quote, spans = excerpt(passage.text, highlight(passage.text, hit.terms))
        name = circular.display_id if circular else passage.circular_id
        where = f"{name}, seksyen / section {passage.reference}"
        if passage.heading:
            where += f" ({passage.heading})"
        status = status_text(circular, engine) if circular else ""
        title = circular.title_ms if circular else ""
        plain_lines.append(f'{index}. {where}\n   "{quote}"\n   {title} — Status: {status}')
        items.append(
            f"<li><strong>{html.escape(where)}</strong><blockquote>{_marked(quote, spans)}</blockquote>"
            f"{html.escape(title)}<br/>Status: {html.escape(status)}</li>"
        )
    note = "Semak teks penuh pekeliling sebelum bertindak. / Check the full circular before acting on it."
    plain_lines.append(note)
    return Reply(plain="\n".join(plain_lines), html=f"<p>{html.escape(heading)}</p><ol>{''.join(items)}</ol><p><em>{html.escape(note)}</em></p>")


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """The quote, HTML-escaped, with the words that matched the question in bold."""
    parts, last = [], 0
    for start, end in spans:
        parts.append(html.escape(text[last:start]))
        parts.append(f"<b>{html.escape(text[start:end])}</b>")
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def search_reply(result: SearchResult) -> Reply:
    asked = html.escape(result.query)
    if not result.found:
        heading = "Tiada pekeliling yang sepadan ditemui. / No matching circular was found."
        lines = [heading]
        html_parts = [f"<p>{html.escape(heading)} <em>({asked})</em></p>"]
        if result.suggestions:
            lines.append("Cadangan / Suggestions:")
            lines.extend(f"- {_one_line(circular)}" for circular in result.suggestions)
            html_parts.append("<p>Cadangan / Suggestions:</p>" + _html_list(result.suggestions))
        lines.append('Cuba kata kunci lain, nombor seperti "PKPA 1/2021", atau taip "bantuan". / Try other words, a number such as "PKPA 1/2021", or type "help".')
        html_parts.append(f"<p>{html.escape(lines[-1])}</p>")
        return Reply(plain="\n".join(lines), html="".join(html_parts))
    heading = f"Pekeliling yang sepadan / Matching circulars ({len(result.hits)}):"
    plain = "\n".join([heading] + [f"{index}. {_one_line(circular)}" for index, circular in enumerate(result.circulars, start=1)])
    return Reply(plain=plain, html=f"<p>{html.escape(heading)}</p>" + _html_list(result.circulars, ordered=True))


def details_reply(argument: str, engine: SearchEngine) -> Reply:
    result = engine.search(argument, limit=1)
    if not result.found or result.reference is None:
        return search_reply(result)
    circular = result.circulars[0]
    rows = [
        ("Pengenal / Identifier", circular.display_id),
        ("Tajuk / Title", circular.title_ms),
        ("Perkara / Subject", circular.subject_en),
        ("Tahun / Year", str(circular.year)),
        ("Status", status_text(circular, engine)),
        ("Sumber / Source", circular.source),
    ]
    plain = "\n".join(f"{label}: {value}" for label, value in rows)
    body = "".join(f"<li><strong>{html.escape(label)}:</strong> {html.escape(value)}</li>" for label, value in rows)
    return Reply(plain=plain, html=f"<ul>{body}</ul>")


def list_reply(argument: str, engine: SearchEngine) -> Reply:
    words = argument.split()
    kinds = sorted({circular.kind for circular in engine.circulars})
    kind = next((word.upper() for word in words if word.upper() in kinds), None)
    years = {int(word) for word in words if re.fullmatch(r"(19|20)\d\d", word)}
    if kind is None and not years:
        text = f"Nyatakan jenis ({', '.join(kinds)}) atau tahun, contoh: senarai PKPA 2021. / Give a kind or a year, e.g. list PKPA 2021."
        return Reply(plain=text, html=f"<p>{html.escape(text)}</p>")
    chosen = [c for c in engine.circulars if (kind is None or c.kind == kind) and (not years or c.year in years)]
    chosen.sort(key=lambda c: (c.year, c.kind, c.number or 0), reverse=True)
    if not chosen:
        text = "Tiada pekeliling bagi pilihan itu. / No circulars for that choice."
        return Reply(plain=text, html=f"<p>{html.escape(text)}</p>")
    heading = f"Senarai / List ({len(chosen)}):"
    plain = "\n".join([heading] + [f"- {_one_line(c)}" for c in chosen])
    return Reply(plain=plain, html=f"<p>{html.escape(heading)}</p>" + _html_list(chosen))


def help_reply() -> Reply:
    lines = [
        "Bot-GovChat mencari dasar dan pekeliling MAMPU. / Bot-GovChat finds MAMPU policies and circulars.",
        "Tanya sahaja, contoh: pekeliling tentang pengkomputeran awan / Just ask, e.g. cloud computing policy",
        "PKPA 1/2021 — cari mengikut nombor / look up by number",
        "butiran PKPA 1/2021 | details … — butiran penuh / full details",
        "senarai PKPA 2021 | list … — senarai mengikut jenis atau tahun / list by kind or year",
        "tentang | about — tentang bot ini / about this bot",
        "Dalam kumpulan, sebut nama bot atau mulakan dengan ! (contoh: !cari cuti). / In groups, mention the bot or start with ! (e.g. !search leave).",
    ]
    return Reply(plain="\n".join(lines), html="<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")


def about_reply(count: int) -> Reply:
    text = (
        f"Bot-GovChat mengenali {count} pekeliling (PKPA, PA, SPA, SAKP dan lain-lain) daripada sumber awam; "
        "status mungkin tidak lengkap, sila semak sumber rasmi. / "
        f"Bot-GovChat knows {count} circulars (PKPA, PA, SPA, SAKP and others) gathered from public sources; "
        "their status may be incomplete, so check the official source."
    )
    return Reply(plain=text, html=f"<p>{html.escape(text)}</p>")


def status_text(circular: Circular, engine: SearchEngine | None = None) -> str:
    category = circular.status_category
    note = f" — {circular.status}" if circular.status else ""
    successor = _successor(circular, engine)
    if category == STATUS_CANCELLED:
        return f"dibatalkan / cancelled{successor}{note}"
    if category == STATUS_AMENDED:
        return f"dipinda / amended{successor}{note}"
    if category == STATUS_IN_FORCE:
        return f"berkuat kuasa / in force{note}"
    return f"tidak pasti / unknown{note}"


def _successor(circular: Circular, engine: SearchEngine | None) -> str:
    if not circular.superseded_by:
        return ""
    replacement = engine.circular(circular.superseded_by) if engine is not None else None
    name = replacement.display_id if replacement else circular.superseded_by
    return f"; digantikan oleh / superseded by {name}"


def _one_line(circular: Circular) -> str:
    return f"{circular.display_id} ({circular.year}): {circular.title_ms} — {status_text(circular)}"


def _html_list(circulars: tuple[Circular, ...] | list[Circular], ordered: bool = False) -> str:
    tag = "ol" if ordered else "ul"
    items = "".join(
        f"<li><strong>{html.escape(c.display_id)}</strong> ({c.year}): {html.escape(c.title_ms)}"
        f"<br/><em>{html.escape(c.subject_en)}</em><br/>Status: {html.escape(status_text(c))}"
        f"<br/>Sumber / Source: {html.escape(c.source)}</li>"
        for c in circulars
    )
    return f"<{tag}>{items}</{tag}>"
