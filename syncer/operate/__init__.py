"""What an operator sees and is told: running a sync under its lock, status, health, alerts,
checks of the remote set-up, and the terminal (tables, progress bars, log lines).

May import: everything below it (config, errors, core, connectors, cache, run); never the CLI or
the sandbox.
"""
