"""Addresses that may and may not register, shared by the unit and integration tests.

Each accepted case names the normal form and the agency domain it must map to
(with the test agencies in tests/conftest.py); each refused case names the refusal
the user must be shown, chosen from what is wrong with the address, not read off the code.
"""

from __future__ import annotations

from govchat.emails import Refusal

ACCEPTED: list[tuple[str, str, str]] = [
    ("ali@mampu.gov.my", "ali@mampu.gov.my", "mampu.gov.my"),
    ("Ali.Bin.Abu@MAMPU.GOV.MY", "ali.bin.abu@mampu.gov.my", "mampu.gov.my"),
    ("siti_aminah@jpa.gov.my", "siti_aminah@jpa.gov.my", "jpa.gov.my"),
    ("nur-ain@moe.gov.my", "nur-ain@moe.gov.my", "moe.gov.my"),
    ("pegawai@bahagian.moe.gov.my", "pegawai@bahagian.moe.gov.my", "moe.gov.my"),
    ("kerani@kln.gov.my", "kerani@kln.gov.my", "gov.my"),
    ("x@a.b.gov.my", "x@a.b.gov.my", "gov.my"),
    ("Pengarah@Gov.My", "pengarah@gov.my", "gov.my"),
]

REFUSED: list[tuple[str, object, Refusal]] = [
    ("suffix trick", "a@gov.my.example.com", Refusal.NOT_GOVERNMENT),
    ("no dot before gov.my", "a@examplegov.my", Refusal.NOT_GOVERNMENT),
    ("trailing dot", "a@gov.my.", Refusal.MALFORMED),
    ("other country", "a@gov.my.my", Refusal.NOT_GOVERNMENT),
    ("consumer mail", "ali@gmail.com", Refusal.NOT_GOVERNMENT),
    ("Greek omicron lookalike", "a@g\u03bfv.my", Refusal.NON_ASCII),
    ("Cyrillic u lookalike", "a@gov.m\u0443", Refusal.NON_ASCII),
    ("Latin script g lookalike", "a@\u0261ov.my", Refusal.NON_ASCII),
    ("fullwidth letters", "a@\uff47\uff4f\uff56.\uff4d\uff59", Refusal.NON_ASCII),
    ("punycode IDN label", "a@xn--mamp-5ya.gov.my", Refusal.NON_ASCII),
    ("non-ASCII local part", "al\u00ed@mampu.gov.my", Refusal.NON_ASCII),
    ("dotted capital I", "AL\u0130@gov.my", Refusal.NON_ASCII),
    ("zero-width space", "ali\u200b@gov.my", Refusal.NON_ASCII),
    ("right-to-left override", "ali@gov.my\u202e", Refusal.NON_ASCII),
    ("quoted local part", '"ali"@mampu.gov.my', Refusal.MALFORMED),
    ("quoted local part with @", '"ali@evil.com"@gov.my', Refusal.MALFORMED),
    ("IP literal", "ali@[10.0.0.1]", Refusal.IP_LITERAL),
    ("IPv6 literal", "ali@[IPv6:::1]", Refusal.IP_LITERAL),
    ("bare IP address", "ali@127.0.0.1", Refusal.IP_LITERAL),
    ("two @", "ali@mampu@gov.my", Refusal.MALFORMED),
    ("double @", "ali@@gov.my", Refusal.MALFORMED),
    ("percent routing", "ali%gov.my@evil.com", Refusal.MALFORMED),
    ("space inside", "ali bin@gov.my", Refusal.SPACE_OR_CONTROL),
    ("leading space", " ali@gov.my", Refusal.SPACE_OR_CONTROL),
    ("newline (header injection)", "ali@gov.my\nBcc: x@evil.com", Refusal.SPACE_OR_CONTROL),
    ("tab", "ali\t@gov.my", Refusal.SPACE_OR_CONTROL),
    ("NUL byte", "ali\x00@gov.my", Refusal.SPACE_OR_CONTROL),
    ("DEL character", "ali\x7f@gov.my", Refusal.SPACE_OR_CONTROL),
    ("local part too long", "a" * 65 + "@gov.my", Refusal.TOO_LONG),
    ("address too long", "a@" + ("b" * 60 + ".") * 5 + "gov.my", Refusal.TOO_LONG),
    ("plus tag", "ali+kedua@mampu.gov.my", Refusal.SUB_ADDRESS),
    ("leading dot", ".ali@gov.my", Refusal.MALFORMED),
    ("trailing dot in local part", "ali.@gov.my", Refusal.MALFORMED),
    ("double dot", "al..i@gov.my", Refusal.MALFORMED),
    ("empty local part", "@gov.my", Refusal.MALFORMED),
    ("no @ at all", "ali.gov.my", Refusal.MALFORMED),
    ("empty string", "", Refusal.MALFORMED),
    ("empty label", "ali@mampu..gov.my", Refusal.MALFORMED),
    ("leading dot in domain", "ali@.gov.my", Refusal.MALFORMED),
    ("hyphen at label edge", "ali@-mampu.gov.my", Refusal.MALFORMED),
    ("port in domain", "ali@mampu.gov.my:25", Refusal.MALFORMED),
    ("path in domain", "ali@gov.my/evil", Refusal.MALFORMED),
    ("not text", 12345, Refusal.NOT_TEXT),
    ("list instead of text", ["ali@gov.my"], Refusal.NOT_TEXT),
]
