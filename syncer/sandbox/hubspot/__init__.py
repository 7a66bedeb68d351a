"""The HubSpot CRM v3 simulator: contacts, properties, search, batches, limits and merges.

May import: the standard library and :mod:`syncer.sandbox`'s shared parts; nothing of syncer.
"""
