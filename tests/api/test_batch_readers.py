"""The two readers of an event batch (console/api/batches.py) agree: whatever the quick one (msgspec)
takes, the contract's (pydantic) takes too, with the same session, events as stored, ids, types and
dimension use; whatever the contract refuses, the quick one leaves to it. And ordinary batches do
take the quick way (or the server is as slow as before without anyone noticing)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.api import batches

SID = "3f2b6c1e-8a4d-4e2f-9b1a-0c5d7e9f1a2b"
EID = "7d9e1c3a-2b4f-4a6e-8c0d-1e2f3a4b5c6d"
AT = "2026-11-25T10:00:00.123456+00:00"
DECISION = {"decision_id": "d1", "choice_id": "c2", "time_to_decide_ms": 5200, "impacts": {"financial": 1}}


def body(*events: dict, **top) -> bytes:
    return json.dumps({"session_id": SID, **top, "events": list(events)}).encode()


def ev(kind: str = "decision", data: object = ..., **fields) -> dict:
    made = {"id": str(uuid.uuid4()), "type": kind, "timestamp": AT, **fields}
    if data is not ...:
        made["data"] = data
    elif kind == "decision":
        made["data"] = DECISION
    return made


def _stored(events_json: bytes) -> list[dict]:
    """The events as PostgreSQL takes them: timestamps as instants, numbers by value."""
    events = json.loads(events_json)
    for event in events:
        event["timestamp"] = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    return events


def agree(raw: bytes) -> str:
    """'quick' (both readers took it, alike), 'exact' (only the contract's took it) or 'refused' (both
    refused it). Fails when the quick reader takes what the contract refuses or reads it otherwise."""
    quick = batches.read_quickly(raw)
    try:
        exact = batches.read_exactly(raw)
    except RequestValidationError:
        assert quick is None, f"the quick reader took what the contract refuses: {raw[:300]!r}"
        return "refused"
    if quick is None:
        return "exact"
    assert (quick.session_id, quick.external_session_id) == (exact.session_id, exact.external_session_id)
    assert _stored(quick.events_json) == _stored(exact.events_json), raw[:300]
    assert list(quick.ids) == list(exact.ids) and list(quick.types) == list(exact.types)
    assert quick.dimension_keys == exact.dimension_keys and quick.score_extremes == exact.score_extremes
    return "quick"


def test_ordinary_batches_take_the_quick_way():
    assert agree(body(*(ev() for _ in range(100)))) == "quick"
    assert agree(json.dumps({"external_session_id": "ue-1", "events": [ev()]}).encode()) == "quick"
    everything = [
        ev("decision", {"decision_id": "d", "choice_id": "c", "label": "L", "node_id": "n", "time_to_decide_ms": 0}),
        ev("milestone", {"milestone_id": "m", "label": "Halfway"}),
        ev("score_update", {"scores": {"financial": -3.5, "team_morale": 90}}),
        ev("custom", {"anything": [1, 2.5, "x", None, True, {"deep": {"er": 10**30}}]}),
        ev("custom"),
        ev("completion", {"outcome": "won", "scores": {"financial": 80}}),
    ]
    assert agree(body(*everything)) == "quick"
    assert agree(body(ev("completion"))) == "quick"
    assert agree(body(ev("completion", {}))) == "quick"
    assert agree(body(ev("completion", {"scores": {}}))) == "quick"
    # Other spellings of the same instant and id, read alike.
    for stamp in ("2026-11-25T10:00:00Z", "2026-11-25t10:00:00z", "2026-11-25 10:00:00Z", "2026-11-26T09:59:00+23:59"):
        assert agree(body(ev(timestamp=stamp))) == "quick", stamp
    assert agree(body(ev(id=EID.upper()), ev(id=uuid.uuid4().hex))) == "quick"


@pytest.mark.parametrize(
    "raw",
    [
        body(ev("decision", {**DECISION, "label": None})),  # a null for a field left out: stored without it
        body(ev(timestamp="2026-11-25T10:00:00.1234567Z")),  # seven decimals: the contract truncates
        body(ev(timestamp="2026-11-25T10:00:00.9999999+00:00")),
        body(ev("decision", {**DECISION, "time_to_decide_ms": 5200.0})),  # lax: a whole float for an int
        body(ev("decision", {**DECISION, "impacts": {"financial": "5"}})),  # lax: a number as a string
        body(ev(timestamp=1764064800)),  # lax: seconds since 1970
        body(ev("completion", {"outcome": None})),
        body(ev("custom", {"a": json.loads("[" * 70 + "]" * 70)})),  # deeper than MAX_QUICK_DEPTH
    ],
    ids=["null-label", "seven-decimals", "seven-nines", "float-int", "string-number", "epoch", "null-outcome", "deep"],
)
def test_what_only_the_contract_reads_is_left_to_it(raw):
    assert agree(raw) == "exact"


def _past(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    "raw",
    [
        body(ev(timestamp="2026-11-25T10:00:00")),  # no time zone
        body(ev(timestamp="1999-12-31T23:59:59Z")),
        body(ev(timestamp="2000-01-01T00:30:00+01:00")),  # 1999 in UTC
        body(ev(timestamp="0001-01-01T00:00:00+01:00")),
        body(ev(timestamp=_past(2))),  # two days ahead of the server's clock
        body(ev(timestamp="2026-12-31T23:59:60Z")),
        body(ev("decision", {**DECISION, "impacts": {"financial\n": 1}})),  # $ would match before \n
        body(ev("decision", {**DECISION, "impacts": {f"k{n}": 1 for n in range(51)}})),
        body(ev("decision", {**DECISION, "impacts": {"financial": 1e9 + 1}})),
        body(ev("decision", {**DECISION, "impacts": {"": 1}})),
        body(ev("decision", {**DECISION, "time_to_decide_ms": -1})),
        body(ev("decision", {**DECISION, "decision_id": ""})),
        body(ev("decision", {**DECISION, "label": "x" * 256})),
        body(ev("decision", {**DECISION, "extra": 1})),
        body(ev(extra=1)),
        body(ev(), extra=1),
        body(ev("score_update", {"scores": {}})),
        body(ev("completion", {"outcome": "x" * 101})),
        body(ev("completion", None)),
        body(ev("bogus", {})),
        body(ev("decision", None)),
        body(ev("milestone", {})),
        body(),
        body(*(ev() for _ in range(1001))),
        body(ev(), external_session_id="ue-1"),  # both names
        json.dumps({"events": [ev()]}).encode(),  # neither
        json.dumps({"external_session_id": "", "events": [ev()]}).encode(),
        json.dumps({"external_session_id": "x" * 256, "events": [ev()]}).encode(),
        body(ev("custom", {"text": "nul\u0000here"})),
        body(ev(id="not-a-uuid")),
        body(ev()) + b" trailing",
        b"\xef\xbb\xbf" + body(ev()),
        b'{"session_id": "' + SID.encode() + b'", "events": [{"id": "' + EID.encode() + b'", "type": "custom", '
        b'"timestamp": "2026-11-25T10:00:00Z", "data": {"x": NaN}}]}',
        b'{"session_id": "' + SID.encode() + b'", "events": [{"id": "' + EID.encode() + b'", "type": "custom", '
        b'"timestamp": "2026-11-25T10:00:00Z", "data": {"x": 1e400}}]}',
        b"[]",
        b"",
    ],
)
def test_what_the_contract_refuses_the_quick_reader_leaves_to_it(raw):
    assert agree(raw) == "refused"


def _custom_at(stamp: bytes, data: bytes = b"{}") -> bytes:
    return (
        b'{"session_id": "' + SID.encode() + b'", "events": [{"id": "' + EID.encode() + b'", "type": "custom", '
        b'"timestamp": "' + stamp + b'", "data": ' + data + b"}]}"
    )


def test_escapes_cannot_hide_what_the_quick_reader_must_leave_to_the_contract():
    """A seventh decimal written as an escape (msgspec would round it where pydantic truncates), and
    nesting deeper than msgspec reads (it raised RecursionError: a 500), found by review."""
    assert agree(_custom_at(b"2026-01-25T10:00:00\\u002e9999999Z")) == "exact"
    assert agree(_custom_at(b"2026-01-25T10:00:00.123456\\u0037Z")) == "exact"
    assert agree(_custom_at(b"1999-12-31T23:59:59\\u002e9999999Z")) == "refused"
    assert agree(_custom_at(b"1999-12-31T23:59:59.999999\\u0039Z")) == "refused"
    assert agree(_custom_at(b"2026-01-25T10:00:00Z", b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}")) == "refused"
    # Escaped letters and non-ASCII text stay on the quick way.
    assert agree(_custom_at(b"2026-01-25\\u005410:00:00Z", b'{"name": "Jos\\u00e9"}')) == "quick"


def test_an_event_that_names_its_type_twice_is_left_to_the_contract():
    """Which "type" wins decides how the event is read: msgspec refuses the repeat, pydantic takes the last."""
    for first, last in (("decision", "custom"), ("custom", "decision")):
        raw = (
            b'{"session_id": "'
            + SID.encode()
            + b'", "events": [{"id": "'
            + EID.encode()
            + b'", "type": "'
            + first.encode()
            + b'", "timestamp": "2026-11-25T10:00:00Z", "data": {"decision_id": "d", '
            b'"choice_id": "c"}, "type": "' + last.encode() + b'"}]}'
        )
        assert agree(raw) == "exact"
        assert list(batches.read(raw).types) == [last]


def test_a_repeated_key_reads_the_same_both_ways():
    raw = (
        b'{"session_id": "' + SID.encode() + b'", "events": [{"id": "' + EID.encode() + b'", "type": "custom", '
        b'"timestamp": "2026-11-25T10:00:00Z", "data": {"a": 1, "a": 2}, "type": "custom"}]}'
    )
    assert agree(raw) == "quick"


# Generated bodies: each field drawn from values that are valid (most of the time), lax, or wrong, so
# that every combination of "the quick reader takes it" and "the contract takes it" is met.
def _mostly(valid: list, other: list) -> st.SearchStrategy:
    return st.sampled_from(valid * 6 + other)


_ids = _mostly([EID, EID.upper(), EID.replace("-", "")], ["{" + EID + "}", "urn:uuid:" + EID, "x", 7, None])
_stamps = _mostly(
    [AT, "2026-11-25T10:00:00Z", "2026-11-25T10:00:00+14:00", "2026-11-25T10:00:00-23:59", "2000-01-01T00:00:00Z"],
    [
        "2026-11-25T10:00:00.1234567Z",
        "2026-11-25T10:00:00",
        "2026-11-25",
        "1999-12-31T23:00:00-02:00",
        "2099-01-01T00:00:00Z",
        1764064800,
        None,
    ],
)
_keys = _mostly(["financial", "team_morale", "a.b:c-d_e"], ["", "bad key", "x\n", "k" * 51])
_numbers = _mostly([0, 1, -1.5, 1e9, -1e9, 0.1, 2.5e-7], [1e9 + 1, "5", True, None, 10**20])
_texts = _mostly(["x", "é" * 100, "Halfway"], ["", "é" * 101, "y" * 256, None, 5, "nul\u0000"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _data(draw, kind: str) -> object:
    fields = {
        "decision": ["decision_id", "choice_id", "label", "node_id", "time_to_decide_ms", "impacts"],
        "milestone": ["milestone_id", "label"],
        "score_update": ["scores"],
        "completion": ["outcome", "scores"],
    }.get(kind)
    if fields is None:
        return draw(st.one_of(st.dictionaries(st.text(max_size=4), _json, max_size=4), _json))
    data = {}
    for name in fields:
        if draw(st.integers(0, 11)) == 0:
            continue  # left out
        if name in ("impacts", "scores"):
            data[name] = draw(st.dictionaries(_keys, _numbers, max_size=3))
        elif name == "time_to_decide_ms":
            data[name] = draw(_mostly([0, 5200], [5200.0, -1, "5", None, 10**13]))
        else:
            data[name] = draw(_texts)
    if draw(st.integers(0, 29)) == 0:
        data["unexpected"] = 1
    return data


@st.composite
def _event(draw) -> dict:
    kind = draw(_mostly(["decision", "milestone", "score_update", "completion", "custom"], ["bogus", None]))
    made = {"id": draw(_ids), "type": kind, "timestamp": draw(_stamps)}
    if draw(st.integers(0, 5)):
        made["data"] = draw(_data(kind))
    if draw(st.integers(0, 39)) == 0:
        made["extra"] = True
    return {k: v for k, v in made.items() if not (v is None and draw(st.booleans()))}


@st.composite
def _body(draw) -> bytes:
    top: dict = {"events": draw(st.lists(_event(), min_size=0, max_size=3))}
    names = draw(_mostly(["sid", "ext"], ["both", "neither", "null"]))
    if names in ("sid", "both"):
        top["session_id"] = draw(_mostly([SID, SID.upper()], ["x"]))
    if names in ("ext", "both"):
        top["external_session_id"] = draw(_mostly(["ue-1"], ["", "z" * 256]))
    if names == "null":
        top["session_id"], top["external_session_id"] = None, "ue-2"
    return json.dumps(top).encode()


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_body())
def test_generated_bodies_read_alike(raw):
    agree(raw)


def test_generated_bodies_meet_all_three_outcomes():
    """The generator above is not vacuous: it makes bodies of each kind."""
    seen = set()

    @settings(max_examples=600, deadline=None, database=None, derandomize=True)
    @given(raw=_body())
    def collect(raw):
        seen.add(agree(raw))

    collect()
    assert seen == {"quick", "exact", "refused"}
