"""Mailchimp's Marketing API v3: the client (members, merge fields, batches) and batch results.

May import: what :mod:`syncer.connectors` may.
"""
