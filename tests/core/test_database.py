"""SQLite as the embedded default: two requests that overlap both get to write."""

from __future__ import annotations

from sqlalchemy import text

from certify.core.database import make_engine


def test_a_transaction_that_read_before_another_commit_can_still_write(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'race.sqlite3'}")
    try:
        with engine.begin() as setup:
            setup.execute(text("CREATE TABLE counter (n INTEGER)"))
            setup.execute(text("INSERT INTO counter VALUES (0)"))
        first, second = engine.connect(), engine.connect()
        try:
            first.begin()
            # The first request reads (its snapshot starts here) ...
            assert first.execute(text("SELECT n FROM counter")).scalar() == 0
            # ... another request writes and commits meanwhile ...
            with second.begin():
                second.execute(text("UPDATE counter SET n = n + 1"))
            # ... and the first one's write still goes through, on top of it.
            first.execute(text("UPDATE counter SET n = n + 10"))
            first.commit()
        finally:
            first.close()
            second.close()
        with engine.connect() as check:
            assert check.execute(text("SELECT n FROM counter")).scalar() == 11
    finally:
        engine.dispose()


def test_a_rolled_back_write_leaves_nothing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'undo.sqlite3'}")
    try:
        with engine.begin() as setup:
            setup.execute(text("CREATE TABLE t (n INTEGER)"))
        with engine.connect() as conn:
            conn.begin()
            conn.execute(text("SELECT count(*) FROM t"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            conn.rollback()
        with engine.connect() as check:
            assert check.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()
