"""Pages marked ``reads_only`` (core/web.py) run their statements without a transaction on
PostgreSQL (no BEGIN nor ROLLBACK round trips); every other request keeps its transaction,
and the pooled connection goes back as it was."""

import pytest
from sqlalchemy import event

from core.extensions import db


def autocommit_seen(app, client, method: str, path: str, **kwargs) -> set:
    """Whether the driver connection was in autocommit, for each statement of one request."""
    seen: set = set()
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, *rest):
        dbapi = conn.connection.dbapi_connection
        seen.add(bool(getattr(dbapi, "autocommit", dbapi.isolation_level is None)))

    event.listen(engine, "before_cursor_execute", before)
    try:
        r = client.post(path, **kwargs) if method == "POST" else client.get(path, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert r.status_code in (200, 302, 303)
    return seen


@pytest.mark.postgres
def test_only_marked_pages_read_without_a_transaction(app, client, auth, world, make):
    cid = make.consultation("open")
    make.opinion(cid, body="Đề nghị sửa cống.")
    auth.login(world.email("resident"))
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    marked = {True} if postgres else {False}
    assert autocommit_seen(app, client, "GET", f"/consultations/{cid}") == marked
    # Not marked: the notifications page marks what it shows read, in a transaction.
    assert autocommit_seen(app, client, "GET", "/me/notifications") == {False}
    # A form sent to a marked address is not a read: it keeps its transaction.
    assert autocommit_seen(
        app,
        client,
        "POST",
        f"/consultations/{cid}/opinions",
        data={"stance": "agree", "section_id": "", "body": "Ý kiến gửi sau khi đọc."},
    ) == {False}
    # The connection went back to the pool as it came: the next request is transactional.
    assert autocommit_seen(app, client, "GET", "/me/notifications") == {False}
    assert "Ý kiến gửi sau khi đọc." in client.get(f"/consultations/{cid}").get_data(as_text=True)
    auth.login(world.email("moderator"))
    assert autocommit_seen(app, client, "GET", f"/moderation/consultations/{cid}") == marked
