"""The backend layer: everything that differs between database servers, behind four objects.

- ``Dialect`` (``dialect.py``) spells SQL (quoting, literals, DDL, INSERT variants, the
  jobs table's expressions, value conversions back to the MySQL driver's types) and
  declares what the server can do as flags (``supports_*``, ``embedded``,
  ``max_identifier_length``). It never holds a connection and never runs SQL. Code outside
  the backend branches on a flag, never on a backend's name.
- ``Catalog`` (``catalog.py``) runs the catalog SQL through one connection: schemas,
  tables read back as ``TableDef``, index names, references between schemas, size limits,
  the server's version and the session's user, live sessions (dead workers), write
  privileges, dropping a schema. One per connection: ``conn.catalog``.
- ``Driver`` (``driver.py``) is the boundary to one DB-API module: connect, streaming
  cursors and their fast column reader, whether a streamed result blocks the session,
  lost-connection detection, and the translation of its exceptions to typed errors.
- ``Connection`` (``connection.py``) owns one session: the one place statements run
  (``_run``, logged at DEBUG on ``typedj.sql`` by ``statements.py``, passwords masked),
  transactions, reconnecting, streams (``stream.py``). It knows the driver only through
  ``Driver``; ``failures.py`` turns driver exceptions into typed errors (the driver's
  reading first), with passwords masked as in the log.

A backend is a module or package (``mysql/``, ``sqlite/``, ``postgres.py`` with its
``postgres_*`` modules) exposing ``BACKEND = Backend(dialect=..., driver=..., catalog=...)``;
``registry.py`` maps URL schemes to these and imports one on first use, so nothing outside
a backend names it (the export's dataset file is SQLite by format, and asks for it).

To add a dialect: write ``yourdb/dialect.py`` (subclass ``Dialect``: spelling,
flags), ``yourdb/catalog.py`` (subclass ``Catalog``), ``yourdb/driver.py`` (subclass
``Driver``), expose ``BACKEND`` in ``yourdb/__init__.py``, add the scheme to
``registry._MODULES`` (or call ``registry.register``) and to ``DatabaseURL.parse``; then run
the shared suite on it (tests skip by capability: ``@pytest.mark.requires("supports_kill")``).
A backend may import the layers below it (errors, types, heading, declare, codecs, config),
never the query, table or schema layers above it.
"""
