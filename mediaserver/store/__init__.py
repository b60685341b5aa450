"""Persistent state behind small repository protocols; SQLite (one file, WAL) by default."""
