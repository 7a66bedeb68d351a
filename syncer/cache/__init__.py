"""The SQLite subscriber cache: the only place with SQL.

Schema and migrations, the :class:`~syncer.cache.store.Store` facade with its contacts and outbox
parts (methods named by intent, each one transaction), and the run lock beside the cache file.

May import: the standard library, sqlite-utils, :mod:`syncer.config`, :mod:`syncer.errors`,
:mod:`syncer.core` and itself; never a connector, a run or the operator's side.
"""
