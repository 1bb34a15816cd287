"""What Bot-GovChat makes of what users type, without Matrix."""

from __future__ import annotations

from bots.pkpa_bot.commands import MAX_QUESTION_LENGTH, Command, answer, is_explicit_command, parse_command
from bots.pkpa_bot.ratelimit import RateLimiter
from bots.pkpa_bot.search import SearchEngine

ENGINE = SearchEngine()


def test_plain_text_is_a_search() -> None:
    assert parse_command("pekeliling mel elektronik").name == "search"


def test_command_words_work_in_malay_and_english_with_or_without_bang() -> None:
    assert parse_command("bantuan").name == "help"
    assert parse_command("!help").name == "help"
    assert parse_command("butiran PKPA 1/2021") == Command("details", "PKPA 1/2021")
    assert parse_command("details PKPA 1/2021") == Command("details", "PKPA 1/2021")
    assert parse_command("Senarai PKPA 2021").name == "list"
    assert parse_command("tentang").name == "about"


def test_only_bang_commands_count_as_addressed_in_groups() -> None:
    assert is_explicit_command("!cari cuti")
    assert not is_explicit_command("cari cuti")
    assert not is_explicit_command("!tidakwujud")


def test_over_long_question_is_truncated_with_a_note() -> None:
    command = parse_command("pekeliling " * 100)
    assert command.truncated and len(command.argument) <= MAX_QUESTION_LENGTH
    reply = answer(command, ENGINE)
    assert "dipendekkan" in reply.plain and "shortened" in reply.plain


def test_html_in_questions_is_escaped_in_replies() -> None:
    reply = answer(parse_command("<img src=x onerror=alert(1)> **nasi lemak**"), ENGINE)
    assert "<img" not in reply.html and "&lt;img" in reply.html


def test_details_name_status_and_source() -> None:
    reply = answer(parse_command("butiran PKPA 1/2021"), ENGINE)
    assert "PKPA 1/2021" in reply.plain and "Status" in reply.plain and "Sumber / Source" in reply.plain


def test_list_by_kind_and_year() -> None:
    reply = answer(parse_command("senarai SPA 2006"), ENGINE)
    assert "SPA 4/2006" in reply.plain
    assert "PKPA" not in reply.plain.replace("SPA", "")


def test_unknown_number_is_an_honest_not_found_with_suggestions() -> None:
    reply = answer(parse_command("PKPA 9/2099"), ENGINE)
    assert "Tiada pekeliling" in reply.plain and "Cadangan / Suggestions" in reply.plain


def test_rate_limiter_allows_a_burst_then_the_steady_rate() -> None:
    limiter = RateLimiter(per_minute=6, burst=2)
    assert limiter.allow("@a:x", 0) and limiter.allow("@a:x", 0)
    assert not limiter.allow("@a:x", 1)
    assert limiter.allow("@b:x", 1)  # per user
    assert limiter.allow("@a:x", 11)  # one more after ten seconds at six a minute
