"""Addresses that may and may not register, shared by the unit and integration tests.

Each accepted case names the normal form and the agency domain it must map to
(with the test agencies in tests/conftest.py).
"""

from __future__ import annotations

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

REFUSED: list[tuple[str, object]] = [
    ("suffix trick", "a@gov.my.example.com"),
    ("no dot before gov.my", "a@examplegov.my"),
    ("trailing dot", "a@gov.my."),
    ("other country", "a@gov.my.my"),
    ("consumer mail", "ali@gmail.com"),
    ("Greek omicron lookalike", "a@g\u03bfv.my"),
    ("Cyrillic u lookalike", "a@gov.m\u0443"),
    ("Latin script g lookalike", "a@\u0261ov.my"),
    ("fullwidth letters", "a@\uff47\uff4f\uff56.\uff4d\uff59"),
    ("punycode IDN label", "a@xn--mamp-5ya.gov.my"),
    ("non-ASCII local part", "al\u00ed@mampu.gov.my"),
    ("dotted capital I", "AL\u0130@gov.my"),
    ("zero-width space", "ali\u200b@gov.my"),
    ("right-to-left override", "ali@gov.my\u202e"),
    ("quoted local part", '"ali"@mampu.gov.my'),
    ("quoted local part with @", '"ali@evil.com"@gov.my'),
    ("IP literal", "ali@[10.0.0.1]"),
    ("IPv6 literal", "ali@[IPv6:::1]"),
    ("bare IP address", "ali@127.0.0.1"),
    ("two @", "ali@mampu@gov.my"),
    ("double @", "ali@@gov.my"),
    ("percent routing", "ali%gov.my@evil.com"),
    ("space inside", "ali bin@gov.my"),
    ("leading space", " ali@gov.my"),
    ("newline (header injection)", "ali@gov.my\nBcc: x@evil.com"),
    ("tab", "ali\t@gov.my"),
    ("NUL byte", "ali\x00@gov.my"),
    ("DEL character", "ali\x7f@gov.my"),
    ("local part too long", "a" * 65 + "@gov.my"),
    ("address too long", "a@" + ("b" * 60 + ".") * 5 + "gov.my"),
    ("plus tag", "ali+kedua@mampu.gov.my"),
    ("leading dot", ".ali@gov.my"),
    ("trailing dot in local part", "ali.@gov.my"),
    ("double dot", "al..i@gov.my"),
    ("empty local part", "@gov.my"),
    ("no @ at all", "ali.gov.my"),
    ("empty string", ""),
    ("empty label", "ali@mampu..gov.my"),
    ("leading dot in domain", "ali@.gov.my"),
    ("hyphen at label edge", "ali@-mampu.gov.my"),
    ("port in domain", "ali@mampu.gov.my:25"),
    ("path in domain", "ali@gov.my/evil"),
    ("not text", 12345),
    ("list instead of text", ["ali@gov.my"]),
]
