"""Hand-run benchmarks of syncer against the sandbox; see benchmarks/README.md."""
