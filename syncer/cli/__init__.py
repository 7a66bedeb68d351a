"""The command line: the edge where arguments are parsed and errors become messages and exit codes.

Each module parses its commands' options, calls :mod:`syncer.operate` or :mod:`syncer.run`, and
renders what comes back; nothing here decides or stores. The package may import every other part
of syncer, and is the only one that imports :mod:`syncer.sandbox` (for `syncer sandbox` and
`syncer demo`): ``kit`` (the global options, examples) and ``sync`` (one run and its printed
outcome) serve ``commands`` (the group and most commands) and ``engagement``.
"""

from syncer.cli.commands import cli, main

__all__ = ["cli", "main"]
