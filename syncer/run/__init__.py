"""One run, in the order of DESIGN §1: old batches, fetch, reconcile, write, record.

The engine drives the phases; ``fetch`` stores pages from the connectors in the cache,
``write_hubspot`` and ``write_mailchimp`` drain the outbox, ``settle`` applies what the vendors
answered, ``deletions`` looks for contacts deleted in HubSpot, and ``report`` builds the dry-run
plan and the summary. This is the only package that joins connectors and the cache.

May import: the standard library, :mod:`syncer.config`, :mod:`syncer.errors`, :mod:`syncer.core`,
:mod:`syncer.connectors`, :mod:`syncer.cache` and itself; never the operator's side or the CLI.
"""
