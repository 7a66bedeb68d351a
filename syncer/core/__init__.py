"""The pure core: what syncer decides, as values in and values out.

Models, identity (the join key and Mailchimp's hash), value transforms, the reconciler (fields,
subscription, the decision being drafted), the outbox payloads a decision becomes (plan) and the
cache's rows as typed values (records). Nothing here does I/O or reads a clock, so every rule is
a unit test away.

May import: the standard library, :mod:`syncer.config`, :mod:`syncer.errors` and itself.
"""
