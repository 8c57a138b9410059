"""The groups kept in the database.

- ``add(opinion_id)``: one new (or edited) opinion: its OpinionAlike row, its bands, and the
  group it joins (or starts with its best candidate); a few indexed queries. Run by the
  ``group_new`` job after the commit that stored the opinion (``jobs.py``).
- ``recompute(consultation_id)``: every group of a consultation again from the texts
  (``similarity.cluster``), keeping the moderator's decisions: an opinion ``apart`` stays out
  of every automatic group; an AlikeLink puts its two opinions' groups together. A group keeps
  its number while its representative is unchanged.
- ``refresh(group)``: its size, representative and campaign mark after a change.

Each takes the consultation's lock, so two opinions arriving at once never start two groups
with the same third one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, insert, select, update

from alike import merges, similarity, store
from alike.models import AlikeBand, OpinionAlike, OpinionGroup
from consultations.locking import lock_consultation
from consultations.models import Opinion
from core.extensions import db
from core.timeutil import utcnow

#: Candidates read for one new opinion: the copies of its text, and those sharing a band.
CANDIDATES = 200

_COLUMNS = (
    Opinion.id,
    Opinion.section_id,
    Opinion.stance,
    Opinion.body,
    Opinion.author_id,
    Opinion.contributor_name,
    Opinion.created_at,
)


def _author(author_id: int | None, contributor: str | None, opinion_id: int) -> str:
    if author_id is not None:
        return f"u{author_id}"
    if contributor and contributor.strip():
        return "c" + contributor.strip().lower()
    return f"o{opinion_id}"


def _stance(value) -> str:
    return str(getattr(value, "value", value))


def _item(row, text: similarity.Text) -> similarity.Item:
    return similarity.Item(
        id=row.id,
        section_id=row.section_id,
        stance=_stance(row.stance),
        text=text,
        author=_author(row.author_id, row.contributor_name, row.id),
        created_at=row.created_at,
    )


# --- one group -------------------------------------------------------------------------------


def refresh(group: OpinionGroup) -> OpinionGroup | None:
    """Recount ``group``; a group left with fewer than 2 members is dissolved (None). Its
    representative is the earliest opinion of its most copied text."""
    rows = db.session.execute(
        select(
            OpinionAlike.opinion_id,
            OpinionAlike.text_key,
            Opinion.author_id,
            Opinion.contributor_name,
            Opinion.created_at,
        )
        .join(Opinion, Opinion.id == OpinionAlike.opinion_id)
        .where(OpinionAlike.group_id == group.id)
        .order_by(Opinion.created_at, Opinion.id)
    ).all()
    if len(rows) < 2:
        db.session.execute(
            update(OpinionAlike)
            .where(OpinionAlike.group_id == group.id)
            .values(group_id=None)
            .execution_options(synchronize_session=False)
        )
        db.session.delete(group)
        db.session.flush()
        return None
    copies = Counter(r.text_key for r in rows)
    top = max(copies.values())
    group.representative_id = next(r.opinion_id for r in rows if copies[r.text_key] == top)
    group.size = len(rows)
    group.campaign = similarity.is_campaign(
        similarity.Item(
            id=r.opinion_id,
            section_id=group.section_id,
            stance="",
            text=similarity.Text(normal="", key=r.text_key, signature=b""),
            author=_author(r.author_id, r.contributor_name, r.opinion_id),
            created_at=r.created_at,
        )
        for r in rows
    )
    group.updated_at = utcnow()
    db.session.flush()
    return group


# --- one new opinion -------------------------------------------------------------------------


def _bands(consultation_id: int, opinion_id: int, signature: bytes) -> None:
    db.session.execute(
        insert(AlikeBand),
        [
            {"consultation_id": consultation_id, "key": key, "opinion_id": opinion_id}
            for key in similarity.band_keys(signature)
        ],
    )


def add(opinion_id: int) -> OpinionGroup | None:
    """Group one new or edited opinion; returns the group it is in, if any. The caller commits."""
    cid = db.session.scalar(select(Opinion.consultation_id).where(Opinion.id == opinion_id))
    if cid is None:
        return None
    lock_consultation(cid)  # then the text, as it stands under the lock
    op = db.session.execute(select(*_COLUMNS).where(Opinion.id == opinion_id)).one()
    text = similarity.prepare(op.body)
    row = db.session.get(OpinionAlike, opinion_id)
    old_group = None
    if row is None:
        row = OpinionAlike(opinion_id=opinion_id, consultation_id=cid)
        db.session.add(row)
    elif row.text_key == text.key:
        return row.group  # seen already, text unchanged: a job run twice
    else:  # edited: regrouped from its new text
        old_group = row.group
        row.group_id = None
        db.session.execute(delete(AlikeBand).where(AlikeBand.opinion_id == opinion_id))
    row.text_key, row.signature = text.key, text.signature
    db.session.flush()
    if old_group is not None:
        refresh(old_group)
    if row.apart:
        _bands(cid, opinion_id, text.signature)
        return None

    copies = select(OpinionAlike.opinion_id).where(
        OpinionAlike.consultation_id == cid, OpinionAlike.text_key == text.key
    )
    banded = select(AlikeBand.opinion_id).where(
        AlikeBand.consultation_id == cid, AlikeBand.key.in_(similarity.band_keys(text.signature))
    )
    ids = set(db.session.scalars(copies.limit(CANDIDATES))) | set(
        db.session.scalars(banded.distinct().limit(CANDIDATES))
    )
    ids.discard(opinion_id)
    has_copy = db.session.scalar(copies.where(OpinionAlike.opinion_id != opinion_id).limit(1))
    if has_copy is None:  # copies of a banded text add no bands: one text, one set of bands
        _bands(cid, opinion_id, text.signature)
    group = _best_match(op, text, ids)
    if group is None:
        return None
    if isinstance(group, int):  # an opinion alone so far: the two start a group
        other = db.session.get(Opinion, group)
        group = OpinionGroup(
            consultation_id=cid,
            section_id=op.section_id,
            representative_id=min(group, opinion_id),
            size=2,
        )
        db.session.add(group)
        db.session.flush()
        db.session.execute(
            update(OpinionAlike)
            .where(OpinionAlike.opinion_id.in_([other.id, opinion_id]))
            .values(group_id=group.id)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(row)
    else:
        row.group_id = group.id
        db.session.flush()
    return refresh(group)


def _best_match(op, text: similarity.Text, ids: Iterable[int]) -> OpinionGroup | int | None:
    """The largest group whose representative is alike ``op``, else the first opinion alone
    that is; only the same article and stance, never an opinion taken apart."""
    ids = list(ids)
    if not ids:
        return None
    rows = db.session.execute(
        select(*_COLUMNS, OpinionAlike.group_id, OpinionAlike.apart)
        .join(OpinionAlike, OpinionAlike.opinion_id == Opinion.id)
        .where(Opinion.id.in_(ids))
        .order_by(Opinion.id)
    ).all()
    stance = _stance(op.stance)
    rows = [
        r
        for r in rows
        if r.section_id == op.section_id and _stance(r.stance) == stance and not r.apart
    ]
    group_ids = {r.group_id for r in rows if r.group_id is not None}
    groups = (
        sorted(
            db.session.scalars(select(OpinionGroup).where(OpinionGroup.id.in_(group_ids))),
            key=lambda g: (-g.size, g.id),
        )
        if group_ids
        else []
    )
    reps = {}
    if groups:
        wanted = [g.representative_id for g in groups]
        found = select(Opinion.id, Opinion.body).where(Opinion.id.in_(wanted))
        reps = dict(db.session.execute(found).all())
    for group in groups:
        body = reps.get(group.representative_id)
        if body is not None and similarity.alike(text, _candidate(body)):
            return group
    for r in rows:
        if r.group_id is None and similarity.alike(text, _candidate(r.body)):
            return r.id
    return None


def _candidate(body: str) -> similarity.Text:
    """A candidate's text for ``similarity.alike``, which needs no signature (the costly part)."""
    normal = similarity.normalise(body)
    return similarity.Text(normal=normal, key=similarity.text_key(normal), signature=b"")


# --- a whole consultation --------------------------------------------------------------------


def recompute(consultation_id: int) -> dict[str, int]:
    """Every group of the consultation again. Returns {"opinions", "groups", "grouped",
    "campaigns"}. The caller commits."""
    lock_consultation(consultation_id)
    connection = db.session.connection()
    stored = store.stored_rows(connection, consultation_id)
    rows = db.session.execute(
        select(*_COLUMNS).where(Opinion.consultation_id == consultation_id).order_by(Opinion.id)
    ).all()
    prepared: dict[str, similarity.Text] = {}
    texts: dict[int, similarity.Text] = {}
    for r in rows:  # a text written by many is prepared once
        normal = similarity.normalise(r.body)
        text = prepared.get(normal)
        if text is None:
            key, old = similarity.text_key(normal), stored.get(r.id)
            known = old is not None and old.text_key == key and old.signature
            signature = old.signature if known else similarity.signature(normal)
            text = prepared[normal] = similarity.Text(normal=normal, key=key, signature=signature)
        texts[r.id] = text
    apart = {oid for oid, r in stored.items() if r.apart}
    items = {r.id: _item(r, texts[r.id]) for r in rows}
    clusters = similarity.cluster([i for oid, i in items.items() if oid not in apart])
    clusters = merges.apply_links(consultation_id, clusters, set(items))

    # Core statements on the tables throughout: the ORM's unit of work spent half the time of
    # 100,000 opinions on 18,000 groups and 1.6 million rows (bench/alike.py, `opinions group`).
    table = OpinionGroup.__table__
    old = dict(
        connection.execute(
            select(table.c.representative_id, table.c.id).where(
                table.c.consultation_id == consultation_id
            )
        ).all()
    )
    now = utcnow()
    kept, fresh = [], []
    campaigns = 0
    for members in clusters:
        rep = members[0]
        campaign = similarity.is_campaign(items[m] for m in members)
        campaigns += campaign
        row = {"s": items[rep].section_id, "n": len(members), "c": campaign}
        if rep in old:
            kept.append({"gid": old[rep], **row})
        else:
            fresh.append(
                {
                    "consultation_id": consultation_id,
                    "representative_id": rep,
                    "section_id": row["s"],
                    "size": row["n"],
                    "campaign": campaign,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    # Every old group is emptied, the kept ones filled again, the rest deleted in one go.
    connection.execute(
        update(table).where(table.c.consultation_id == consultation_id).values(size=0)
    )
    if kept:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("gid"))
            .values(
                section_id=bindparam("s"),
                size=bindparam("n"),
                campaign=bindparam("c"),
                updated_at=now,
            ),
            kept,
        )
    group_of = {rep: old[rep] for rep in (m[0] for m in clusters) if rep in old}
    for start in range(0, len(fresh), 5000):
        inserted = connection.execute(
            insert(table).returning(
                table.c.representative_id, table.c.id, sort_by_parameter_order=True
            ),
            fresh[start : start + 5000],
        )
        group_of.update(tuple(r) for r in inserted)
    member_of = {m: group_of[members[0]] for members in clusters for m in members}
    ids = [r.id for r in rows]
    store.write_members(connection, consultation_id, ids, texts, member_of, apart, stored)
    store.write_bands(connection, consultation_id, ids, texts, stored)
    # The old groups left empty, once no opinion names them any more.
    connection.execute(
        delete(table).where(table.c.consultation_id == consultation_id, table.c.size == 0)
    )
    db.session.expire_all()  # the groups changed under the ORM's feet
    return {
        "opinions": len(rows),
        "groups": len(clusters),
        "grouped": len(member_of),
        "campaigns": campaigns,
    }
