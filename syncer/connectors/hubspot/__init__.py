"""HubSpot's CRM v3 contacts API: the client, its answers parsed, incremental and full reads.

May import: what :mod:`syncer.connectors` may.
"""
