"""MySQL / MariaDB through pymysql: ``mysql://`` URLs."""

from ..registry import Backend
from .catalog import MySQLCatalog
from .dialect import MySQLDialect
from .driver import MySQLDriver, connect_mysql

BACKEND = Backend(dialect=MySQLDialect(), driver=MySQLDriver(), catalog=MySQLCatalog)

__all__ = ["BACKEND", "MySQLCatalog", "MySQLDialect", "MySQLDriver", "connect_mysql"]
