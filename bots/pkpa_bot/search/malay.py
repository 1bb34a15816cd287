"""Tokenising and stemming for mixed Malay and English search text.

The stemmer is a small rule-based one in the spirit of the Othman / Nazief-
Adriani affix-removal stemmers, without a root-word dictionary.  Without a
dictionary some nasal prefixes are ambiguous ("memohon" may come from
"pohon" or "mohon"), so ``stem_variants`` returns every plausible root; the
engine indexes and looks up all of them, which keeps the two sides of a
match consistent.  Stems are not always linguistically correct ("digital"
becomes "gital"), which is harmless because documents and queries are
stemmed the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_STEMMABLE_LENGTH = 5  # words of four letters or fewer are left alone
MIN_STEM_LENGTH = 3  # never cut a word down below three letters


def _word_set(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated block (easy to read)."""
    return frozenset(text.split())


# Root words that look affixed but are not (stripping would conflate them).
PROTECTED_WORDS = _word_set(
    """
    laman jalan bulan taman badan teman zaman insan pelan makan pekan perlu pertama
    permata dengan mesyuarat media memo mesej menteri kementerian berita beri
    digital data diari kerja ketua kelas pesara perak perdana sektor teknikal
    tentang peranan perisian pengarah pentadbiran meeting pending during string
    """
)

# Words dropped from queries and documents.  Domain words such as "dasar",
# "keselamatan" and "perkhidmatan" are deliberately absent.
_MALAY_STOP_WORDS = _word_set(
    """
    ada adakah adalah akan am anda apa apakah atau bagaimana bagi berkenaan bil bilangan
    bila boleh cara dalam dan dari daripada di hendak ialah ingin ini itu jika juga ke
    kepada kami kita mahu mana mengenai nak oleh pada perihal saya sahaja sebarang sila
    siapa sudah tahun telah tentang tidak tolong untuk yang cari berikan senarai atas bawah
    antara
    """
)
_ENGLISH_STOP_WORDS = _word_set(
    """
    a about an and any are as at be by can do does find for from give how i in into is it me
    my no of on or our please regarding should show that the there this to was we what when
    where which who with you your number year list
    """
)
STOP_WORDS = _MALAY_STOP_WORDS | _ENGLISH_STOP_WORDS

# Phrases rewritten to one canonical token before splitting, so that the
# many spellings of "e-mail" or "website" meet in the index.
_PHRASE_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bmel\s+elektronik\b|\belectronic\s+mail\b"), " emel "),
    (re.compile(r"\be[-\s]?mel\b|\be[-\s]?mails?\b"), " emel "),
    (re.compile(r"\blaman\s+(?:web|sesawang)\b|\bweb\s*sites?\b"), " website "),
    (re.compile(r"\btadbir\s+urus\b"), " tadbirurus "),
    (re.compile(r"\bclient'?s\b"), " client "),
)

_TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_YEAR_PATTERN = re.compile(r"^(?:19[5-9]\d|20\d\d)$")

_PARTICLES = ("lah", "kah", "tah", "pun")
_POSSESSIVES = ("nya",)
_DERIVATIONAL_SUFFIXES = ("kan", "an", "i")


def normalise(text: str) -> str:
    """Lower-case and rewrite multi-spelling phrases to canonical tokens."""
    lowered = text.lower().replace("\u2019", "'")
    for pattern, replacement in _PHRASE_REWRITES:
        lowered = pattern.sub(replacement, lowered)
    return lowered


def split_words(text: str) -> list[str]:
    """Split normalised text into words; "agensi-agensi" becomes "agensi"."""
    words: list[str] = []
    for token in _TOKEN_PATTERN.findall(text):
        parts = token.split("-")
        if len(set(parts)) == 1:  # Malay reduplication marks a plural
            words.append(parts[0])
        else:
            words.extend(part for part in parts if part)
    return words


def is_year(word: str) -> bool:
    """True for four-digit tokens that look like a circular year."""
    return bool(_YEAR_PATTERN.match(word))


def content_words(text: str) -> list[str]:
    """Words worth searching on: no stop words, no years, no short numbers."""
    words = split_words(normalise(text))
    return [
        word
        for word in words
        if word not in STOP_WORDS and not is_year(word) and not (word.isdigit() and len(word) <= 2)
    ]


def stem(word: str) -> str:
    """The primary stem of a word (see ``stem_variants``)."""
    return stem_variants(word)[0]


@lru_cache(maxsize=65536)
def stem_variants(word: str) -> tuple[str, ...]:
    """Plausible stems of a word, most likely first (a pure function, so remembered: texts repeat words)."""
    if len(word) < MIN_STEMMABLE_LENGTH or word in PROTECTED_WORDS or not word.isalpha():
        return (word,)
    base = _strip_inflection(word)
    variants = _strip_derivation(base)
    if variants == (base,) and base == word:
        return (_strip_english_suffix(word),)
    return variants


def _strip_inflection(word: str) -> str:
    for ending in _PARTICLES + _POSSESSIVES:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM_LENGTH + 1:
            return word[: -len(ending)]
    return word


def _strip_derivation(word: str) -> tuple[str, ...]:
    """Remove a suffix and/or prefix, honouring the Malay confix rules."""
    without_suffix, suffix = _strip_suffix(word)
    roots, prefix = _strip_prefix(without_suffix)
    if prefix == "ke" and suffix != "an":
        roots, prefix = (without_suffix,), None  # ke- is only a prefix with -an
    if suffix == "i" and prefix is None:
        # A bare "-i" ends many loanwords (teknologi, polisi): keep it.
        roots, prefix = _strip_prefix(word)
    if prefix is not None:
        roots = tuple(_strip_second_prefix(root) for root in roots)
    return tuple(dict.fromkeys(roots))


def _strip_suffix(word: str) -> tuple[str, str | None]:
    for suffix in _DERIVATIONAL_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM_LENGTH:
            return word[: -len(suffix)], suffix
    return word, None


_VOWELS = frozenset("aeiou")


def _strip_prefix(word: str) -> tuple[tuple[str, ...], str | None]:
    """Remove one derivational prefix, undoing nasal assimilation."""
    for prefix in ("meng", "peng", "meny", "peny", "mem", "pem", "men", "pen"):
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM_LENGTH:
            roots = _nasal_roots(prefix, word[len(prefix) :])
            if roots:
                return roots, prefix
    for prefix in ("memper", "diper", "ber", "ter", "per", "di", "ke"):
        if word.startswith(prefix) and len(word) - len(prefix) >= MIN_STEM_LENGTH:
            return (word[len(prefix) :],), prefix
    for prefix in ("me", "pe"):
        if word.startswith(prefix) and word[2:3] in set("lmnrwy") and len(word) - 2 >= MIN_STEM_LENGTH:
            return (word[2:],), prefix
    return (word,), None


def _nasal_roots(prefix: str, rest: str) -> tuple[str, ...]:
    """Roots hidden behind meN-/peN-; empty when the prefix does not apply."""
    first = rest[0]
    nasal = prefix[2:]  # "meng" -> "ng", "mem" -> "m"
    if nasal == "ng":
        if first in _VOWELS:
            return (rest, "k" + rest)  # mengurus <- urus, mengawal <- kawal
        return (rest,) if first in "ghk" else ()
    if nasal == "ny":
        return ("s" + rest,) if first in _VOWELS else ()
    if nasal == "m":
        if first in _VOWELS:
            return ("p" + rest, "m" + rest)  # memantau <- pantau, memohon <- mohon
        return (rest,) if first in "bfvp" else ()
    # nasal == "n"
    if first in _VOWELS:
        return ("t" + rest, "n" + rest)  # menulis <- tulis, menilai <- nilai
    return (rest,) if first in "cdjzt" else ()


def _strip_second_prefix(root: str) -> str:
    """Handle stacked prefixes such as diper-/memper- or ber- after di-."""
    for prefix in ("per", "ber"):
        if root.startswith(prefix) and len(root) - len(prefix) >= MIN_STEM_LENGTH + 1:
            return root[len(prefix) :]
    return root


def _strip_english_suffix(word: str) -> str:
    """Very light English stemming for words the Malay rules left alone."""
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith("ing") and len(word) >= 7:
        return word[:-3]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
