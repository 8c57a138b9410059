"""The job queue's SQLite store (the default of one machine): WAL, and commits that do not
wait for the disk, as the app's own database; jobs still go in and come out."""

from infra import queue


def test_the_sqlite_queue_commits_without_waiting_for_the_disk(tmp_path):
    storage_class, kwargs = queue._storage(f"sqlite:///{tmp_path / 'queue.sqlite'}", str(tmp_path))
    store = storage_class(name="test", **kwargs)
    assert store.conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL, not FULL (2)
    assert store.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    store.enqueue(b"job")
    assert store.queue_size() == 1
    assert store.dequeue() == b"job"
