"""Deleting rows and dropping tables, with everything that depends on them.

A delete is planned before anything is removed: every table downstream gets the
restrictions (any of which) that select its doomed rows, parts are checked against their
masters, and the rows go children first in one transaction. Drops follow the same graph.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import graph as graphs
from .binding import unbind
from .errors import IntegrityError, QueryError
from .query.condition import AndList, Not
from .query.expression import Deletion, Query, TableNode, register_deletion

if TYPE_CHECKING:
    from .backend.connection import Connection

log = logging.getLogger("typedj")



def _restricted(conn: Connection, name: str) -> TableNode:
    schema, table = name.split(".", 1)
    node: TableNode = conn.schemas[schema].node(table)
    return node


def _confirm(what: str, preview: Mapping[str, int] | Sequence[str], force: bool) -> bool:
    """DataJoint's safemode: show ``preview`` and ask, only on a terminal and when
    ``config.safemode`` is on; scripts and CI (no terminal) and ``force=True`` never ask."""
    from .config import config

    if force or not config.safemode or sys.stdin is None or not sys.stdin.isatty():
        return True
    lines = [f"  {k}: {v} rows" for k, v in preview.items()] if isinstance(preview, Mapping) else [
        f"  {name}" for name in preview]
    print(f"About to {what}:", *lines, sep="\n", file=sys.stderr)
    answer = input("Proceed? [yes/No] ")
    if answer.strip().lower() in {"y", "yes"}:
        return True
    print("Nothing was changed.", file=sys.stderr)
    return False


def delete(query: Query[Any], *, part_integrity: str = "enforce", dry_run: bool = False,
           force: bool = False) -> dict[str, int]:
    """Delete the rows of ``query`` and, in one transaction, every row that depends on them.

    Returns the rows deleted per table (``dry_run=True`` counts them and deletes
    nothing). A part table's rows go only with their master's unless
    ``part_integrity`` is ``"ignore"`` (delete them alone) or ``"cascade"`` (delete the
    masters too). On a terminal with ``config.safemode`` on, the counts are shown and
    a "yes" is needed (``force=True`` skips the question); a "no" deletes nothing and
    returns ``{}``.
    """
    if part_integrity not in {"enforce", "ignore", "cascade"}:
        raise ValueError("part_integrity is 'enforce', 'ignore' or 'cascade'")
    node = query._node
    base = _base_table(node)
    conn = query.connection
    graph = graphs.for_connection(conn)
    start = f"{base.schema}.{base.table}"
    plan = _plan(conn, graph, {start: [query]})
    if part_integrity != "ignore":
        plan = _check_parts(conn, graph, plan, part_integrity)
    order = [n for n in graphs.ordered(graph, plan) if n in plan]
    counts: dict[str, int] = {}
    with conn.transaction():
        for name in order:
            counts[name] = len(_union(conn, name, plan[name]))
        doomed = {k: v for k, v in counts.items() if v}
        if not dry_run and doomed and not _confirm("delete", doomed, force):
            return {}
        if not dry_run:
            for name in reversed(order):
                if counts[name]:
                    _delete_rows(conn, name, plan[name])
    if not dry_run:
        log.info("deleted %s", {k: v for k, v in counts.items() if v})
    return {k: v for k, v in counts.items() if v}


def _base_table(node: Any) -> TableNode:
    while not isinstance(node, TableNode):
        child = getattr(node, "child", None)
        if child is None or type(node).__name__ != "Restrict":
            raise QueryError("delete works on a table or a restriction of one, not on a join or projection")
        node = child
    return node


def _plan(conn: Connection, graph: Any, seeds: dict[str, list[Query[Any]]]) -> dict[str, list[Query[Any]]]:
    """Every table reached downstream, with the restrictions (any of which) that select its rows."""
    plan: dict[str, list[Query[Any]]] = {k: list(v) for k, v in seeds.items()}
    for name in graphs.ordered(graph, _downstream(graph, plan)):
        if name not in plan:
            continue
        parent_rows = plan[name]
        for child, fk in graphs.children(graph, name):
            child_node = _restricted(conn, child)
            renames = {local: parent for local, parent in fk.attr_map.items() if local != parent}
            for restriction in parent_rows:
                plan.setdefault(child, []).append(Query(child_node) & restriction.proj(**renames))
    return plan


def _downstream(graph: Any, plan: Mapping[str, Any]) -> set[str]:
    import networkx as nx

    nodes: set[str] = set()
    for name in plan:
        nodes |= {name} | nx.descendants(graph, name)
    return nodes


def _conditions(node: Any) -> AndList:
    """The conditions of a chain of restrictions of one table."""
    conditions = AndList()
    while not isinstance(node, TableNode):
        conditions.append(Not(node.condition) if node.negate else node.condition)
        node = node.child
    return conditions


def _union(conn: Connection, name: str, restrictions: list[Query[Any]]) -> Query[Any]:
    """Rows selected by any of ``restrictions``, as conditions on the table itself.

    Conditions (not subqueries of the table) so that a DELETE can use them: MySQL
    refuses a DELETE whose subquery reads the table being deleted from.
    """
    schema, table = name.split(".", 1)
    base: Query[Any] = Query(conn.schemas[schema].node(table))
    alternatives = [_conditions(r._node) for r in restrictions]
    if any(not alt for alt in alternatives):
        return base
    if len(alternatives) == 1:
        return base & alternatives[0]
    return base & alternatives


def _check_parts(
    conn: Connection, graph: Any, plan: dict[str, list[Query[Any]]], mode: str
) -> dict[str, list[Query[Any]]]:
    for _ in range(len(graph) + 1):
        added = False
        for name in list(plan):
            schema, table = name.split(".", 1)
            master_name = _master_of(graph, schema, table)
            if master_name is None:
                continue
            master: Query[Any] = Query(_restricted(conn, master_name))
            parts = _union(conn, name, plan[name])
            deleted_masters = [_union(conn, master_name, plan[master_name])] if master_name in plan else []
            orphaned = master & parts.proj()
            if deleted_masters:
                orphaned = orphaned - deleted_masters[0].proj()
            if not orphaned:
                continue
            if mode == "enforce":
                raise IntegrityError(
                    f"deleting rows of part table {name} without their master {master_name}; "
                    "delete from the master, or pass part_integrity='cascade' (delete the masters "
                    "too) or 'ignore'",
                    table=table,
                )
            masters = master & orphaned.keys()
            plan = _plan(conn, graph, {**plan, master_name: [*plan.get(master_name, []), masters]})
            added = True
        if not added:
            return plan
    return plan


def _master_of(graph: Any, schema: str, table: str) -> str | None:
    if "__" not in table.lstrip("_#"):
        return None
    head = table[: table.rindex("__")]
    name = f"{schema}.{head}"
    return name if name in graph else None


def _delete_rows(conn: Connection, name: str, restrictions: list[Query[Any]]) -> None:
    from .query.compiler import Compiler

    query = _union(conn, name, restrictions)
    c = Compiler(conn.dialect)
    select = query._node.compile(c)
    if len(select.items) != 1 or select.closed:
        raise QueryError(f"cannot delete from {name}: the restriction is not a plain table restriction")
    schema, table = name.split(".", 1)
    where = " AND ".join(select.where) or "TRUE"
    sql = f"DELETE FROM {conn.dialect.table(schema, table)} WHERE {where}"
    conn.query(sql, select.params())


def delete_quick(query: Query[Any]) -> int:
    """Delete the rows of ``query`` from its table alone, without cascading.

    Rows that dependent rows still refer to make the server refuse: an
    ``IntegrityError`` naming the table, and nothing deleted. Returns the rows deleted.
    """
    base = _base_table(query._node)
    conn = query.connection
    name = f"{base.schema}.{base.table}"
    try:
        with conn.transaction():
            count = len(_union(conn, name, [query]))
            if count:
                _delete_rows(conn, name, [query])
    except IntegrityError as exc:
        raise IntegrityError(
            f"delete_quick from {name}: rows of dependent tables refer to the rows; nothing was "
            "deleted. Delete those first, or use delete() to cascade",
            table=base.table, sql=exc.sql, server_message=exc.server_message, code=exc.code,
        ) from exc
    return count


def drop_quick(conn: Connection, name: str) -> list[str]:
    """Drop one table without cascading: refused, naming them, while other tables depend on it."""
    graph = graphs.for_connection(conn)
    dependents = sorted(set(graphs.descendants(graph, name)) - {name}) if name in graph else []
    if dependents:
        raise IntegrityError(
            f"drop_quick of {name}: tables depend on it: {', '.join(dependents)}; nothing was "
            "dropped. Drop them first, or use drop() to cascade",
            table=name.split(".", 1)[1],
        )
    return drop_tables(conn, [name], force=True)


def drop_tables(conn: Connection, names: Sequence[str], *, force: bool = False) -> list[str]:
    """Drop tables and everything that depends on them, children first, and forget them.

    On a terminal with ``config.safemode`` on, the tables are listed and a "yes" is
    needed (``force=True`` skips the question); a "no" drops nothing and returns ``[]``.
    """
    graph = graphs.for_connection(conn)
    targets: set[str] = set()
    for name in names:
        if name in graph:
            targets |= set(graphs.descendants(graph, name))
    order = list(reversed(graphs.ordered(graph, targets)))
    if order and not _confirm("drop", order, force):
        return []
    for name in order:
        schema, table = name.split(".", 1)
        conn.query(conn.dialect.drop_table(schema, table))
        s = conn.schemas.get(schema)
        if s is not None:
            s.tables.pop(table, None)
            s.lineage.pop(table, None)
            if s.has_lineage:
                conn.query(
                    f"DELETE FROM {conn.dialect.table(schema, '~lineage')} "
                    f"WHERE table_name = {conn.dialect.placeholder}",
                    (table,),
                )
            cls = s.classes.pop(table, None)
            if cls is not None:
                unbind(cls)
    graphs.invalidate(conn)
    return order


register_deletion(Deletion(delete=delete, delete_quick=delete_quick))
