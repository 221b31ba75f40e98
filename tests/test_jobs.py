"""The jobs table: DataJoint's DDL, reservations, errors, retries, dead workers."""

from __future__ import annotations

import time
from typing import Any

import pymysql
import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Part, Ref
from typedj.codecs.blob import unpack

EXPECTED_DDL = """CREATE TABLE `~~result` (
  `source_id` int(11) NOT NULL,
  `kind` varchar(8) NOT NULL COMMENT ':varchar(8):',
  `status` enum('pending','reserved','success','error','ignore') NOT NULL COMMENT ':enum(''pending'', ''reserved'', ''success'', ''error'', ''ignore''):',
  `priority` tinyint(4) NOT NULL COMMENT ':int8:',
  `created_time` datetime(3) NOT NULL DEFAULT current_timestamp(3) COMMENT ':datetime(3):',
  `scheduled_time` datetime(3) NOT NULL DEFAULT current_timestamp(3) COMMENT ':datetime(3):',
  `reserved_time` datetime(3) DEFAULT NULL COMMENT ':datetime(3):',
  `completed_time` datetime(3) DEFAULT NULL COMMENT ':datetime(3):',
  `duration` double DEFAULT NULL COMMENT ':float64:',
  `error_message` varchar(2047) NOT NULL DEFAULT '' COMMENT ':varchar(2047):',
  `error_stack` longblob DEFAULT NULL COMMENT ':<blob>:',
  `user` varchar(255) NOT NULL DEFAULT '' COMMENT ':varchar(255):',
  `host` varchar(255) NOT NULL DEFAULT '' COMMENT ':varchar(255):',
  `pid` int(11) NOT NULL DEFAULT 0 COMMENT ':int32:',
  `connection_id` bigint(20) NOT NULL DEFAULT 0 COMMENT ':int64:',
  `version` varchar(64) NOT NULL DEFAULT '' COMMENT ':varchar(64):',
  PRIMARY KEY (`source_id`,`kind`),
  KEY `status` (`status`,`priority`,`scheduled_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='Job queue for `{schema}`.`__result`'"""  # noqa: E501 - the server's text, verbatim


@pytest.fixture
def pipeline(schema: tj.Schema) -> Any:
    @schema
    class Source(Manual):
        source_id: Key[int]
        value: float

    @schema
    class Kind(Manual):
        kind: Key[str] = tj.Attr(max_length=8)

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        kind: Key[Ref[Kind]]
        doubled: float

        class Piece(Part):
            result: Key[Ref[Result]]
            piece: Key[int]

        def make(self, key: dict[str, Any]) -> None:
            value = (Source & key).fetch1("value")
            self.insert1({**key, "doubled": 2 * value})
            Result.Piece.insert([{**key, "piece": i} for i in range(2)])
            if value < 0:
                raise ValueError("negative value " + "x" * 3000)

    Kind.insert1({"kind": "k"})
    Source.insert([(i, float(i)) for i in range(10)])
    return Source, Result


def _status(jobs: tj.Jobs) -> dict[str, int]:
    return {k: v for k, v in jobs.progress().items() if v}


def test_jobs_table_is_declared_as_datajoint_does(
    pipeline: Any, conn: tj.Connection, schema: tj.Schema
) -> None:
    _Source, Result = pipeline
    assert Result.jobs.table_name == "~~result"
    assert _status(Result.jobs) == {}
    if conn.dialect.name == "mysql":
        ddl = conn.query(f"SHOW CREATE TABLE `{schema.name}`.`~~result`").fetchone()[1]
        assert ddl == EXPECTED_DDL.replace("{schema}", schema.name)
    else:
        table = conn.catalog.load_catalog(schema.name)["~~result"]
        declared = Result.jobs.definition

        def columns(t: Any) -> list[tuple[Any, ...]]:
            return [(a.name, a.type_name, a.sql_type, a.in_key, a.nullable, a.comment) for a in t.heading]

        assert columns(table) == columns(declared)
        assert (table.comment, table.indexes) == (declared.comment, declared.indexes)
    lineage = conn.query(
        f"SELECT attribute_name, lineage FROM {conn.dialect.table(schema.name, '~lineage')} "
        "WHERE table_name = '~~result'"
    ).fetchall()
    assert sorted(lineage) == [("kind", f"{schema.name}.~~result.kind"),
                               ("source_id", f"{schema.name}.~~result.source_id")]


def test_reserved_populate_deletes_finished_jobs(pipeline: Any) -> None:
    Source, Result = pipeline
    result = Result.populate(reserve_jobs=True)
    assert result.success_count == 10 and result.skipped == 0
    assert len(Result) == 10 and len(Result.Piece) == 20
    assert _status(Result.jobs) == {}
    Source.insert1({"source_id": 10, "value": 1.0})
    kept = Result.populate(reserve_jobs=True, keep_completed=True)
    assert kept.succeeded == [{"source_id": 10, "kind": "k"}]
    row = Result.jobs.completed.to_dicts()[0]
    assert row["status"] == "success" and row["duration"] >= 0 and row["completed_time"] is not None


def test_pending_jobs_are_added_in_one_statement(pipeline: Any, conn: tj.Connection) -> None:
    Source, Result = pipeline
    Source.insert([(i, 1.0) for i in range(10, 500)])
    jobs = Result.jobs
    jobs.declare()

    def inserts() -> int:
        if conn.dialect.name != "mysql":  # SQLite counts no statements; the rest is checked
            return 0
        return int(conn.query("SHOW SESSION STATUS LIKE 'Com_insert'").fetchone()[1])

    before = inserts()
    from typedj.populate.autopopulate import todo

    assert jobs.refresh(todo(Result, []), priority=3) == 500
    assert inserts() - before == (1 if conn.dialect.name == "mysql" else 0)
    assert _status(jobs) == {"pending": 500, "total": 500}
    assert set(jobs.pending.fetch("priority").tolist()) == {3}
    assert jobs.refresh(todo(Result, [])) == 0


def test_reservation_is_owned_by_one_worker(pipeline: Any) -> None:
    _Source, Result = pipeline
    from typedj.populate.autopopulate import todo

    jobs = Result.jobs
    jobs.refresh(todo(Result, [{"source_id": 3}]))
    params = jobs.key_params({"source_id": 3, "kind": "k"})
    assert jobs.reserve(params) is True
    assert jobs.reserve(params) is False
    row = jobs.reserved.to_dicts()[0]
    conn = Result._schema.connection
    assert row["connection_id"] == conn.connection_id
    assert row["reserved_time"] is not None and row["host"] and row["pid"] > 0
    assert row["user"] == conn.catalog.session_user()
    result = Result.populate(reserve_jobs=True)
    assert {"source_id": 3, "kind": "k"} not in result.succeeded and result.success_count == 9
    assert jobs.release(params) is True
    assert Result.populate(reserve_jobs=True).succeeded == [{"source_id": 3, "kind": "k"}]


def test_errors_are_recorded_listed_and_retried(pipeline: Any) -> None:
    Source, Result = pipeline
    Source.update1({"source_id": 4, "value": -1.0})
    result = Result.populate(reserve_jobs=True, suppress_errors=True)
    assert result.success_count == 9
    assert [f.key for f in result.failed] == [{"source_id": 4, "kind": "k"}]
    assert len(Result & {"source_id": 4}) == 0 and len(Result.Piece & {"source_id": 4}) == 0
    errors = Result.jobs.errors.to_dicts()
    assert len(errors) == 1 and errors[0]["source_id"] == 4
    message = errors[0]["error_message"]
    assert message.startswith("ValueError: negative value xxx") and len(message) == 2047
    assert message.endswith("...truncated")
    stack = errors[0]["error_stack"]
    assert isinstance(stack, str) and stack.startswith("Traceback") and "in make" in stack
    raw = Result._schema.connection.query(
        f"SELECT error_stack FROM {Result._schema.connection.dialect.table(Result._def.schema, '~~result')} "
        "WHERE source_id = 4"
    ).fetchone()[0]
    assert unpack(raw) == stack

    again = Result.populate(reserve_jobs=True, suppress_errors=True)
    assert again.success_count == 0 and again.failed == []

    Source.update1({"source_id": 4, "value": 4.0})
    assert Result.jobs.retry({"source_id": 99}) == 0
    assert Result.jobs.retry() == 1
    assert _status(Result.jobs) == {"pending": 1, "total": 1}
    assert Result.populate(reserve_jobs=True).succeeded == [{"source_id": 4, "kind": "k"}]
    assert _status(Result.jobs) == {}


def test_error_without_suppress_is_raised_and_recorded(pipeline: Any) -> None:
    Source, Result = pipeline
    Source.update1({"source_id": 0, "value": -5.0})
    with pytest.raises(ValueError, match="negative value"):
        Result.populate(reserve_jobs=True)
    assert _status(Result.jobs) == {"error": 1, "pending": 9, "total": 10}


def test_ignored_jobs_are_skipped_and_deleted_on_request(pipeline: Any) -> None:
    _Source, Result = pipeline
    assert Result.jobs.ignore({"source_id": 1, "kind": "k"}, {"source_id": 2, "kind": "k"}) == 2
    result = Result.populate(reserve_jobs=True)
    assert result.success_count == 8
    assert Result.progress() == (2, 10)
    assert sorted(Result.jobs.ignored.fetch("source_id").tolist()) == [1, 2]
    assert Result.jobs.delete({"source_id": 1}, status="ignore") == 1
    assert Result.populate(reserve_jobs=True).succeeded == [{"source_id": 1, "kind": "k"}]
    with pytest.raises(ValueError, match="status"):
        Result.jobs.delete(status="done")


def test_priority_orders_and_filters_jobs(pipeline: Any) -> None:
    _Source, Result = pipeline
    Result.populate({"source_id": 7}, reserve_jobs=True, priority=9, max_calls=0)
    urgent = Result.populate(reserve_jobs=True, priority=2, max_calls=3)
    assert urgent.succeeded == [{"source_id": s, "kind": "k"} for s in (0, 1, 2)]
    assert (Result.jobs.pending & {"source_id": 7}).fetch1("priority") == 9
    rest = Result.populate(reserve_jobs=True, priority=5)
    assert rest.success_count == 6 and len(Result.jobs.pending) == 1
    assert Result.populate(reserve_jobs=True).succeeded == [{"source_id": 7, "kind": "k"}]


@pytest.mark.requires("mysql_server", reason="a second server session, found dead through the process list")
def test_dead_reservations_return_to_pending(pipeline: Any, mysql_url: str, conn: tj.Connection) -> None:
    _Source, Result = pipeline
    from typedj.populate.autopopulate import todo

    jobs = Result.jobs
    jobs.refresh(todo(Result, []))
    url = tj.DatabaseURL.parse(mysql_url)
    other = pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                            autocommit=True)
    table = f"`{Result._def.schema}`.`~~result`"
    with other.cursor() as cur:
        cur.execute(f"UPDATE {table} SET status='reserved', connection_id=CONNECTION_ID(), "
                    "reserved_time=CURRENT_TIMESTAMP(3) WHERE source_id IN (1, 2)")
        dead_id = other.thread_id()
    conn.query(f"UPDATE {table} SET status='reserved', connection_id=CONNECTION_ID(), "
               "reserved_time=CURRENT_TIMESTAMP(3) - INTERVAL 2 HOUR WHERE source_id = 3")
    assert jobs.recover() == 0
    other.close()
    alive = "SELECT 1 FROM information_schema.processlist WHERE id = %s"
    for _ in range(100):
        if not conn.query(alive, (dead_id,)).fetchall():
            break
        time.sleep(0.05)
    assert jobs.recover() == 2
    assert sorted(jobs.reserved.fetch("source_id").tolist()) == [3]
    assert jobs.recover(timeout=3600) == 1
    assert len(jobs.reserved) == 0 and len(jobs.pending) == 10
    assert Result.populate(reserve_jobs=True).success_count == 10


def test_jobs_need_a_foreign_key_in_the_primary_key(schema: tj.Schema) -> None:
    @schema
    class Item(Manual):
        item_id: Key[int]

    @schema
    class Standalone(Computed):
        item_id: Key[int]

        def make(self, key: dict[str, Any]) -> None:
            self.insert1(key)

    Item.insert1({"item_id": 1})
    with pytest.raises(tj.TypedjError, match="no default key_source"):
        Standalone.populate()
    Standalone.key_source = Item
    with pytest.raises(tj.TypedjError, match="no foreign keys in its primary key"):
        Standalone.populate(reserve_jobs=True)


def test_reservations_expire_where_the_server_cannot_tell_live_sessions(
    pipeline: Any, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _Source, Result = pipeline
    from typedj.populate.autopopulate import todo

    jobs = Result.jobs
    jobs.refresh(todo(Result, []))
    table = conn.dialect.table(Result._def.schema, "~~result")
    for source_id, hours in ((1, 25), (2, 1)):
        ago = conn.dialect.seconds_ago()
        conn.query(f"UPDATE {table} SET status='reserved', connection_id=999999, "
                   f"reserved_time={ago} WHERE source_id = {source_id}", [hours * 3600])
    monkeypatch.setattr(conn.catalog, "live_sessions", lambda: None)  # as without PROCESS privilege
    assert jobs.recover() == 1
    assert jobs.reserved.fetch("source_id").tolist() == [2]
    assert jobs.recover(timeout=1800) == 1
    assert len(jobs.reserved) == 0
    result = Result.populate(reserve_jobs=True)
    assert result["success_count"] == 10 and result["error_list"] == []
    with pytest.raises(KeyError):
        result["nothing"]


def test_job_of_a_key_made_meanwhile_is_completed_without_make(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, Result = pipeline
    from typedj.populate.autopopulate import todo

    Result.jobs.refresh(todo(Result, []))
    Result.insert1({"source_id": 1, "kind": "k", "doubled": 99.0}, allow_direct_insert=True)
    made: list[int] = []
    original = Result.make

    def counting(self: Any, key: dict[str, Any]) -> None:
        made.append(key["source_id"])
        original(self, key)

    monkeypatch.setattr(Result, "make", counting)
    result = Result.populate(reserve_jobs=True)
    assert result.success_count == 9 and result.skipped == 1 and 1 not in made and len(made) == 9
    assert (Result & {"source_id": 1}).fetch1("doubled") == 99.0
    assert Result.jobs.progress()["total"] == 0


def test_batch_reservation_takes_only_pending_keys(pipeline: Any) -> None:
    _, Result = pipeline
    from typedj.populate.autopopulate import todo

    jobs = Result.jobs
    jobs.refresh(todo(Result, []))
    keys = [{"source_id": i, "kind": "k"} for i in range(10)]
    held = jobs.key_params(keys[3])
    assert jobs.reserve(held) is True  # this session's older reservation
    assert jobs.ignore(keys[5]) == 1
    time.sleep(0.01)  # reservation times have millisecond precision
    assert jobs.reserve_many(keys[:8]) == [0, 1, 2, 4, 6, 7]
    assert jobs.reserve_many(keys[:8]) == []
    assert jobs.reserve_many(keys) == [8, 9]
    assert _status(jobs) == {"reserved": 9, "ignore": 1, "total": 10}


def test_a_failure_gives_back_the_rest_of_its_batch(pipeline: Any) -> None:
    Source, Result = pipeline
    Source.update1({"source_id": 6, "value": -1.0})
    from typedj.populate.serial import Batches

    Batches.SECONDS, saved = 100.0, Batches.SECONDS  # after the first key: batches of 64
    try:
        with pytest.raises(ValueError, match="negative value"):
            Result.populate(reserve_jobs=True)
    finally:
        Batches.SECONDS = saved
    assert len(Result) == 6
    assert _status(Result.jobs) == {"error": 1, "pending": 3, "total": 4}
    assert Result.jobs.reserved.to_dicts() == []


def test_batches_follow_the_make_time() -> None:
    from typedj.populate.serial import Batches

    b = Batches()
    assert b.size == 1
    b.record(0.001)
    assert b.size == Batches.LARGEST
    for _ in range(30):
        b.record(0.1)
    assert b.size == 5
    for _ in range(30):
        b.record(10.0)
    assert b.size == 1


def test_a_worker_walks_past_keys_others_hold(pipeline: Any) -> None:
    _, Result = pipeline
    from typedj.populate.autopopulate import todo
    from typedj.populate.serial import run_keys

    jobs = Result.jobs
    jobs.refresh(todo(Result, []))
    keys = [{"source_id": i, "kind": "k"} for i in range(10)]
    assert jobs.reserve_many(keys[:6]) == list(range(6))  # held by "another worker"
    result = run_keys(Result, keys, key_names=jobs.key_names, jobs=jobs, suppress_errors=False)
    assert sorted(k["source_id"] for k in result.succeeded) == [6, 7, 8, 9] and result.skipped == 6
    assert jobs.pending_among(keys) == []
    assert _status(jobs) == {"reserved": 6, "total": 6}
    assert len(Result) == 4
