"""MySQL / MariaDB: SQL spelling."""

from __future__ import annotations

import pymysql.converters

from ...heading import Attribute, TableDef
from ..dialect import Dialect, TableChange

_LINEAGE_DDL = """CREATE TABLE IF NOT EXISTS {table} (
  `table_name` VARCHAR(64) NOT NULL COMMENT 'table name within the schema',
  `attribute_name` VARCHAR(64) NOT NULL COMMENT 'attribute name',
  `lineage` VARCHAR(255) NOT NULL COMMENT 'origin: schema.table.attribute',
  PRIMARY KEY (`table_name`, `attribute_name`)
) ENGINE=InnoDB"""


class MySQLDialect(Dialect):
    name = "mysql"
    placeholder = "%s"
    commit_and_chain = "COMMIT AND CHAIN"
    supports_streaming = True
    supports_live_sessions = True
    supports_kill = True
    supports_accounts = True
    supports_alter_table = True
    supports_row_locks = True
    supports_unsigned = True
    supports_enum_type = True
    supports_column_comments = True
    supports_fulltext = True
    supports_nul_in_text = True
    max_identifier_length = 64

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def sql_text(self, text: str) -> str:
        return text.replace("%", "%%")

    def string_literal(self, text: str) -> str:
        escaped: str = pymysql.converters.escape_string(text)
        return "'" + escaped + "'"

    def create_schema(self, schema: str) -> list[str]:
        return [f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"]

    def drop_schema(self, schema: str) -> list[str]:
        return [f"DROP DATABASE IF EXISTS {self.quote(schema)}"]

    def lineage_table(self, schema: str) -> str:
        return _LINEAGE_DDL.format(table=self.table(schema, "~lineage"))

    def column_definition(self, attr: Attribute) -> str:
        parts = [self.quote(attr.name), attr.sql_type, *self.nullability(attr)]
        if attr.auto_increment:
            parts.append("AUTO_INCREMENT")
        comment = attr.column_comment
        if comment:
            parts.append("COMMENT " + self.literal(comment))
        return " ".join(parts)

    def default_sql(self, attr: Attribute) -> str:
        value = attr.default
        if isinstance(value, str) and value.upper().startswith("CURRENT_TIMESTAMP"):
            precision = attr.type.precision
            return f"CURRENT_TIMESTAMP({precision})" if precision is not None else "CURRENT_TIMESTAMP"
        return self.literal(value)

    def create_table(self, table: TableDef) -> list[str]:
        lines = [self.column_definition(a) for a in table.heading]
        lines.append("PRIMARY KEY (" + ", ".join(self.quote(k) for k in table.heading.primary_key) + ")")
        for fk in table.foreign_keys:
            lines.append(self.foreign_key(fk))
            if fk.unique:
                lines.append("UNIQUE INDEX (" + ", ".join(self.quote(c) for c in fk.attr_map) + ")")
        for index in table.indexes:
            cols = ", ".join(self.quote(c) for c in index.attributes)
            lines.append(f"{'UNIQUE ' if index.unique else ''}INDEX ({cols})")
        body = ",\n  ".join(lines)
        name = self.table(table.schema, table.name)
        sql = f"CREATE TABLE IF NOT EXISTS {name} (\n  {body}\n) ENGINE=InnoDB"
        if table.comment:
            sql += " COMMENT=" + self.literal(table.comment)
        return [sql]

    def alter_table(self, change: TableChange) -> list[str]:
        """One ``ALTER TABLE``, which MySQL applies entirely or not at all."""
        declared = change.declared
        clauses = [f"DROP INDEX {self.quote(name)}" for name in change.dropped_indexes]
        clauses += [f"DROP COLUMN {self.quote(name)}" for name in change.dropped_columns]
        names = declared.heading.all_names
        present = [n for n in change.existing.heading.all_names if n in declared.heading]
        for name in change.added_columns:
            before = [n for n in names[: names.index(name)] if n in present]
            where = f"AFTER {self.quote(before[-1])}" if before else "FIRST"
            clauses.append(f"ADD COLUMN {self.column_definition(declared.heading[name])} {where}")
            present.append(name)
        clauses += [f"MODIFY COLUMN {self.column_definition(declared.heading[name])}"
                    for name in change.changed_columns]
        for index in change.added_indexes:
            columns = ", ".join(self.quote(c) for c in index.attributes)
            clauses.append(f"ADD {'UNIQUE ' if index.unique else ''}INDEX ({columns})")
        if change.comment:
            clauses.append(f"COMMENT = {self.literal(declared.comment)}")
        return [f"ALTER TABLE {self.table(declared.schema, declared.name)}\n  " + ",\n  ".join(clauses)]

    def now(self) -> str:
        return "CURRENT_TIMESTAMP(3)"

    def seconds_ago(self) -> str:
        return "CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND"

    def session_id(self) -> str:
        return "CONNECTION_ID()"
