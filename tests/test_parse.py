"""The value parsers: every format real upstream files and contributors use, and what must fail."""

import datetime as dt
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlsizes.records.parse import PartialDate, parse_date, parse_number, slugify, slugify_all


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.75E+11", 1.75e11),
        ("175000000000.0", 1.75e11),
        ("175,000,000,000", 1.75e11),
        ("70B", 7e10),
        ("70b", 7e10),
        ("1.2T", 1.2e12),
        ("340M", 3.4e8),
        ("1.75e11", 1.75e11),
        ("7e10", 7e10),
        ("4.00E+01", 40.0),
        (" 12 ", 12.0),
        ("0.00E+00", 0.0),
        ("-5", -5.0),
        ("", None),
        ("N/A", None),
        ("  ", None),
    ],
)
def test_parse_number_formats(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["abc", "70 billion", "1.2.3", "1,00", "B", "e10", "--5", "1e", "0x10", "∞", "nan5"])
def test_parse_number_rejects_garbage(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


@pytest.mark.parametrize("text", ["1e400", "9" * 400, "1e308T", "-1e309"])
def test_parse_number_refuses_numbers_a_float_cannot_hold(text):
    with pytest.raises(ValueError, match="number too large"):
        parse_number(text)


# Unicode digits Python's float()/int() would read silently: Arabic-Indic, Devanagari, full-width, mathematical
# bold, and a single look-alike digit inside an otherwise ASCII value.
UNICODE_NUMBERS = [
    "\u0661\u0662\u0663",
    "\u0967\u0968",
    "\uff17\uff10B",
    "\U0001d7cf\U0001d7d0",
    "1\u0665",
    "1.5e\u0661\u0661",
    "\uff11,000",
]
UNICODE_DATES = [
    "\u0662\u0660\u0662\u0660",
    "\uff12\uff10\uff12\uff10-01-01",
    "2020-\u0660\u0661-15",
    "\u0967/2020",
    "15/06/202\u0660",
]


@pytest.mark.parametrize("text", UNICODE_NUMBERS)
def test_parse_number_refuses_unicode_digits(text):
    float(text.replace(",", "").removesuffix("B"))  # Python itself reads them as a number...
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


@pytest.mark.parametrize("text", UNICODE_DATES)
def test_parse_date_refuses_unicode_digits(text):
    with pytest.raises(ValueError, match="unrecognised date"):
        parse_date(text)


@given(st.floats(min_value=1, max_value=1e16, allow_nan=False))
def test_parse_number_round_trips_scientific_and_plain(value):
    assert parse_number(f"{value:.6E}") == pytest.approx(value, rel=1e-6)
    assert parse_number(repr(value)) == value


@given(st.integers(min_value=1, max_value=10**15))
def test_parse_number_thousands_separators(value):
    assert parse_number(f"{value:,}") == float(value)


@given(
    st.decimals(min_value=1, max_value=999, places=2),
    st.sampled_from([("K", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)]),
)
def test_parse_number_suffixes(mantissa, suffix):
    letter, factor = suffix
    assert parse_number(f"{mantissa}{letter}") == pytest.approx(float(mantissa) * factor)
    assert parse_number(f"{mantissa}{letter.lower()}") == parse_number(f"{mantissa}{letter}")


@pytest.mark.parametrize(
    "text, iso, precision",
    [
        ("10/02/2022", "2022-02-10", "day"),
        ("8/12/2021", "2021-12-08", "day"),
        ("08/1/2021", "2021-01-08", "day"),
        ("1/1/2000", "2000-01-01", "day"),
        ("06/2017", "2017-06-15", "month"),
        ("6/2017", "2017-06-15", "month"),
        ("1950", "1950-07-01", "year"),
        ("2024-04-18", "2024-04-18", "day"),
        ("2024-04", "2024-04-15", "month"),
        (" 2024 ", "2024-07-01", "year"),
    ],
)
def test_parse_date_formats_keep_precision(text, iso, precision):
    assert parse_date(text) == PartialDate(dt.date.fromisoformat(iso), precision)


@pytest.mark.parametrize(
    "text",
    ["Forthcoming", "", "31/02/2020", "13/2020", "2020-13-01", "2020/01/01", "Q3 2021", "20200101", "12/31/2020"],
)
def test_parse_date_rejects(text):
    with pytest.raises(ValueError):
        parse_date(text)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_parse_date_round_trips_every_format(day):
    assert parse_date(day.isoformat()) == PartialDate(day, "day")
    assert parse_date(f"{day.day}/{day.month}/{day.year}") == PartialDate(day, "day")
    assert parse_date(f"{day.day:02d}/{day.month:02d}/{day.year}") == PartialDate(day, "day")
    assert parse_date(f"{day.month}/{day.year}") == PartialDate(day.replace(day=15), "month")
    assert parse_date(str(day.year)) == PartialDate(dt.date(day.year, 7, 1), "year")


@pytest.mark.parametrize(
    "parser, valid",
    [
        (parse_date, lambda result: result.precision in {"day", "month", "year"}),
        (parse_number, lambda result: result is None or not math.isnan(result)),
    ],
    ids=["date", "number"],
)
@given(text=st.text(max_size=12))
def test_parsers_accept_or_raise_valueerror_on_any_text(parser, valid, text):
    try:
        result = parser(text)
    except ValueError:
        return
    assert valid(result)


def test_slugify_all_is_slugify_of_each_name():
    rng = random.Random(13)
    # Combining marks (which NFKD reorders) and Hangul (which it decomposes) may start or end a name: slugifying
    # all names joined must equal slugifying each.
    alphabet = [*"aZ09 -_.,'()", "\t", "é", "☃", "Ω", "ﬁ", "²", "\u2028", "--", "\n", "\u0301", "\u0323", "한", "Å"]
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(5000)]
    one_line = [name for name in names if "\n" not in name]
    assert slugify_all(one_line) == [slugify(name) for name in one_line]
    assert slugify_all(names) == [slugify(name) for name in names]  # line breaks: one by one
    assert slugify_all([]) == [] and slugify_all(["", "---", "GPT-3 175B (davinci)"]) == [
        slugify(""),
        slugify("---"),
        "gpt-3-175b-davinci",
    ]
