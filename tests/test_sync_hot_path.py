"""The sync PUT's hot path: the caller and the inspection's state in one statement, answer columns as
array literals, and replies that do not change when a body is sent again."""

from __future__ import annotations

import math
import struct
import uuid
from contextlib import asynccontextmanager

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.auth import queries as auth_queries
from server.auth.models import Principal
from server.inspections import queries, routes, rules, service
from server.inspections.models import InspectionDoc
from tests.inspection_fixtures import complete_answers, make_ctx


async def test_a_replay_answers_the_bytes_the_first_send_got_and_reads_one_statement(client, monkeypatch):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    body = ctx.doc(status="submitted", answers=complete_answers())
    first = await ctx.put(iid, body)
    assert first.status_code == 201

    reads = []
    real_read = queries.replay_state

    async def counted(*args):
        reads.append("replay_state")
        return await real_read(*args)

    async def refused(*args):
        raise AssertionError("a replay must not read its state or its caller twice, nor decode the body")

    monkeypatch.setattr(queries, "replay_state", counted)
    for name in ("load_state", "load_state_as"):
        monkeypatch.setattr(queries, name, refused)
    monkeypatch.setattr(auth_queries, "principal_for_token", refused)
    monkeypatch.setattr(routes.RawDocument, "decode", refused)
    again = [await ctx.put(iid, body) for _ in range(3)]
    assert [r.status_code for r in again] == [200, 200, 200]
    assert {r.content for r in again} == {first.content}
    assert reads == ["replay_state"] * 3


async def test_a_nul_in_a_note_is_a_422_naming_the_note_and_nothing_is_stored(client):
    # The route looks for NUL where it decodes the body (a replay is answered from the bytes alone,
    # and a stored body cannot hold one), not in the app-wide hook.
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    answers = complete_answers()
    key = next(iter(answers))
    answers[key] = {**answers[key], "note": "seen by\x00 the SDPO"}
    for _ in range(2):  # and sent again, as a phone would
        refused = await ctx.put(iid, ctx.doc(status="submitted", answers=answers))
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [f"answers.{key}.note"]
    conn = await client.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM inspections WHERE id = $1", iid) == 0
    finally:
        await conn.close()


async def test_a_resend_after_the_inspection_moved_on_is_decided_again_from_the_decoded_body(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    draft = ctx.doc()
    assert (await ctx.put(iid, draft)).status_code == 201
    assert (await ctx.put(iid, ctx.doc(base=1, answers={"fd_wait": {"value": 9}}))).status_code == 200
    # The first body is remembered, but it no longer made the current revision: a late duplicate of
    # revision 1 is answered with the current reply (revision 2), as the service decides it.
    late = await ctx.put(iid, draft)
    assert late.status_code == 200 and late.json()["revision"] == 2
    assert late.json()["answers"] == {"fd_wait": {"value": 9, "note": None, "photos": []}}


async def test_a_spliced_reply_is_the_encoding_of_the_whole_reply(client):
    ctx = await make_ctx(client)
    iid = uuid.uuid4()
    photo = uuid.uuid4()
    assert (await ctx.put(iid, ctx.doc(status="submitted", answers=complete_answers(photo)))).status_code == 201
    conn = await client.db()
    try:
        row = await queries.get_inspection(
            conn, Principal(id=ctx.world.users["admin"], username="admin", display_name="A", role="admin"), iid
        )
    finally:
        await conn.close()
    doc = msgspec.json.decode(row["document"], type=InspectionDoc)
    whole = msgspec.json.encode(service.stored_reply(row, doc))
    assert rules.spliced_reply(row, rules.document_part(doc)) == whole
    assert msgspec.json.decode(whole)["missing_photos"] == [str(photo)]


async def test_the_put_answers_401_for_a_revoked_session_and_403_for_a_reviewer(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a")
    body = ctx.doc()
    conn = await client.db()
    try:
        await conn.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = $1", ctx.world.users["inspector_a"])
    finally:
        await conn.close()
    revoked = await ctx.put(uuid.uuid4(), body)
    assert revoked.status_code == 401 and "sign in again" in revoked.json()["detail"]
    assert (await ctx.put(uuid.uuid4(), body, user="reviewer_a")).status_code == 403


async def test_a_stale_session_is_touched_by_the_put(client):
    ctx = await make_ctx(client)
    conn = await client.db()
    try:
        await conn.execute("UPDATE sessions SET last_seen_at = now() - interval '1 hour'")
        assert (await ctx.put(uuid.uuid4(), ctx.doc())).status_code == 201
        assert await conn.fetchval("SELECT bool_and(last_seen_at > now() - interval '1 minute') FROM sessions")
    finally:
        await conn.close()


TEXTS = st.lists(
    st.one_of(
        st.none(),
        # No lone surrogates: no JSON body can carry one (msgspec refuses "\ud800"), nor UTF-8.
        st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12),
        st.sampled_from(["null", "NULL", "", " ", '"', "\\", "{", "}", ",", "a,b", "{x}"]),
    ),
    max_size=12,
)
FLOATS = st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)), max_size=12)


# The connection is only read through, so one serves every generated example.
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=TEXTS,
    floats=FLOATS,
    bools=st.lists(st.booleans(), max_size=12),
    keys=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), max_size=12),
)
async def test_array_literals_read_back_as_the_very_values(conn, texts, floats, bools, keys):
    got = await conn.fetchrow(
        "SELECT $1::text::text[] AS t, $2::text::float8[] AS f, $3::text::bool[] AS b, $4::text::text[] AS k",
        queries._texts(texts),
        queries._plain(floats),
        queries._plain(bools),
        queries._quoted(keys),
    )
    assert list(got["t"]) == texts and list(got["b"]) == bools and list(got["k"]) == keys
    # Bit for bit: the score a row stores is the engine's double, not a nearby one.
    assert [None if x is None else struct.pack("<d", x) for x in got["f"]] == [
        None if x is None else struct.pack("<d", float(x)) for x in floats
    ]
    assert all(x is None or math.isfinite(x) for x in got["f"])


async def test_a_new_draft_is_one_statement_and_a_new_submission_two_inside_its_transaction(client, monkeypatch):
    # Every round trip inside the submit transaction keeps it open for one more wait on the event loop
    # (see service._after_write): the audit row and the assignment lookup travel with the write, and
    # the hooks skip what a new inspection without a critical failure cannot need.
    ctx = await make_ctx(client)
    sent: list[str] = []
    real = routes._connect

    @asynccontextmanager
    async def logged(state):
        async with real(state) as conn:

            def log(record) -> None:
                sent.append(" ".join(record.query.split())[:40])

            conn.add_query_logger(log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(log)

    monkeypatch.setattr(routes, "_connect", logged)
    await ctx.put(uuid.uuid4(), ctx.doc(answers=complete_answers()))  # the template is now cached
    sent.clear()
    assert (await ctx.put(uuid.uuid4(), ctx.doc(answers=complete_answers()))).status_code == 201
    assert len(sent) == 2 and sent[0].startswith("WITH caller AS") and sent[1].startswith("WITH w AS ( INSERT")
    sent.clear()
    assert (await ctx.put(uuid.uuid4(), ctx.doc(status="submitted", answers=complete_answers()))).status_code == 201
    begin = next(n for n, q in enumerate(sent) if q.startswith("BEGIN"))
    inside = sent[begin + 1 : -1]
    assert sent[-1] == "COMMIT;" or sent[-1].startswith("COMMIT"), sent
    assert len(inside) == 2 and inside[0].startswith("WITH w AS ( INSERT"), sent


def test_the_replay_cache_is_bounded_in_bytes_not_entries(monkeypatch):
    """256 bodies near the 2 MiB limit (a long note on every item) held 650 MB a process: the cache of
    last bodies keeps to a byte budget, and a body too big to be worth keeping is not kept."""
    monkeypatch.setattr(service, "_SEEN", type(service._SEEN)())
    monkeypatch.setattr(service, "_seen_bytes", 0)
    doc = msgspec.convert(
        {
            "station_id": str(uuid.uuid4()),
            "template_version_id": str(uuid.uuid4()),
            "base_revision": 0,
            "status": "draft",
        },
        InspectionDoc,
    )
    big = service._SEEN_ENTRY_MAX - 1024
    ids = [uuid.uuid4() for _ in range(3 * service._SEEN_BUDGET // big)]
    for n, inspection_id in enumerate(ids):
        service.remember(inspection_id, bytes([n % 251]) * big, b"d" * 32, doc)
    held = sum(len(part) for entry in service._SEEN.values() for part in entry)
    assert held == service._seen_bytes <= service._SEEN_BUDGET
    assert ids[-1] in service._SEEN and ids[0] not in service._SEEN  # the oldest go first
    # A body over the entry limit is not kept, and replaces no entry of its inspection with a stale one.
    service.remember(ids[-1], b"x" * (service._SEEN_ENTRY_MAX + 1), b"d" * 32, doc)
    assert ids[-1] not in service._SEEN
    assert sum(len(part) for entry in service._SEEN.values() for part in entry) == service._seen_bytes
