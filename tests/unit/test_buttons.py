"""The button grammar: every kind written and read back the same, within 64 bytes, old buttons still read."""

from __future__ import annotations

import secrets
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.buttons import (
    KINDS,
    MAX_BYTES,
    AssignTap,
    ButtonDataError,
    CheckTap,
    ChoiceTap,
    FollowUpTap,
    JobTap,
    MatterTap,
    OfferTap,
    ResidentTap,
    StatsTap,
    Tap,
    decode,
    encode,
    prefix_of,
)

# What the button tokens are made of (dispatch.tokens and the offers use secrets.token_urlsafe(9)).
TOKEN = secrets.token_urlsafe(9)
FIELD = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)


def test_data_is_written_as_buttons_already_in_chats_were() -> None:
    """Version 1 is the layout every button sent before this module had: those keep working."""
    assert encode(ChoiceTap("n0nce1", "3")) == "c:n0nce1:3"
    assert encode(OfferTap(TOKEN, OfferTap.ACCEPT)) == f"o:{TOKEN}:a"
    assert encode(OfferTap(TOKEN, OfferTap.DECLINE)) == f"o:{TOKEN}:d"
    assert encode(JobTap(TOKEN, "arrived")) == f"j:{TOKEN}:arrived"
    assert encode(ResidentTap(TOKEN, ResidentTap.STATUS)) == f"r:{TOKEN}:st"
    assert encode(ResidentTap(TOKEN, ResidentTap.RATE, "5")) == f"r:{TOKEN}:rate:5"
    assert encode(ResidentTap(TOKEN, ResidentTap.FIXED, "no")) == f"r:{TOKEN}:fx:no"
    assert encode(AssignTap(TOKEN)) == f"as:{TOKEN}"
    assert encode(FollowUpTap(TOKEN)) == f"fu:{TOKEN}"


def test_a_stats_view_carries_the_exact_days_asked_for() -> None:
    tap = StatsTap(StatsTap.MISSES, "20261116-20261122")
    assert encode(tap) == "st:sla:20261116-20261122"
    assert decode(encode(tap)) == tap


def test_old_data_reads_as_the_typed_tap() -> None:
    assert decode(f"r:{TOKEN}:qa:17") == ResidentTap(TOKEN, "qa", "17")
    assert decode(f"r:{TOKEN}:here") == ResidentTap(TOKEN, "here", "")
    assert decode(f"o:{TOKEN}:a") == OfferTap(TOKEN, "a")
    assert decode("c:abc:0") == ChoiceTap("abc", "0")
    # A reader that used `partition` gave the rest of the data to the last field; so does the grammar.
    assert decode(f"r:{TOKEN}:qa:1:2") == ResidentTap(TOKEN, "qa", "1:2")


@pytest.mark.parametrize(
    "data",
    [
        "",
        "c",
        "c:nonce",  # a choice needs its index
        "c::1",
        "zz:token",  # no such kind
        "o2:token:a",  # a version this code does not know
        "O:token:a",
        ":token",
        "as:",
        "fu" + ":" + "x" * MAX_BYTES,  # over Telegram's 64 bytes
    ],
)
def test_data_no_button_of_ours_carries_is_refused(data: str) -> None:
    assert decode(data) is None


def test_optional_trailing_fields_read_as_empty() -> None:
    """A job or offer button cut short still names its token; the handler then refuses the empty action."""
    assert decode(f"j:{TOKEN}") == JobTap(TOKEN, "")
    assert decode(f"o:{TOKEN}") == OfferTap(TOKEN, "")


def test_what_could_not_be_read_back_is_not_written() -> None:
    with pytest.raises(ButtonDataError, match="colon"):
        encode(JobTap(TOKEN, "a:b"))
    with pytest.raises(ButtonDataError, match="bytes"):
        encode(ResidentTap("t" * 40, "rate", "9" * 30))
    # 64 bytes exactly is allowed (Telegram's limit is inclusive).
    fits = ResidentTap("t" * (MAX_BYTES - len("r::rate:5")), "rate", "5")
    assert len(encode(fits).encode()) == MAX_BYTES


def test_the_longest_real_button_fits_with_room_to_spare() -> None:
    """A resident's quote button carries the longest data: a token and a quote id in the billions."""
    data = encode(ResidentTap(secrets.token_urlsafe(9), ResidentTap.DECLINE_QUOTE, str(10**10)))
    assert len(data.encode()) <= MAX_BYTES // 2


def test_every_kind_has_its_own_prefix() -> None:
    prefixes = [kind.PREFIX for kind in KINDS]
    assert len(set(prefixes)) == len(prefixes) == len(KINDS) == 9
    assert all(prefix.isalpha() and prefix.islower() for prefix in prefixes)
    assert prefix_of(f"o:{TOKEN}:a") == "o" and prefix_of("as:x") == "as" and prefix_of("?!") == ""


def _taps() -> st.SearchStrategy[Tap]:
    return st.one_of(
        st.builds(ChoiceTap, FIELD, FIELD),
        st.builds(OfferTap, FIELD, st.sampled_from([OfferTap.ACCEPT, OfferTap.DECLINE])),
        st.builds(JobTap, FIELD, FIELD),
        st.builds(ResidentTap, FIELD, FIELD, st.one_of(st.just(""), FIELD)),
        st.builds(AssignTap, FIELD),
        st.builds(FollowUpTap, FIELD),
        st.builds(MatterTap, FIELD, FIELD),
        st.builds(CheckTap, FIELD, st.sampled_from([CheckTap.FIXED, CheckTap.NOT_FIXED])),
    )


@given(_taps())
def test_every_tap_reads_back_as_written(tap: Tap) -> None:
    data = encode(tap)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == tap


@given(st.text(max_size=80))
def test_any_data_at_all_is_read_or_refused_never_an_error(data: str) -> None:
    tap = decode(data)
    assert tap is None or type(tap) in KINDS
