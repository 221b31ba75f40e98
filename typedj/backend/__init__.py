"""Connections, transactions and the SQL dialects (MySQL/MariaDB, SQLite)."""
