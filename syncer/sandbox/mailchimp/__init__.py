"""The Mailchimp Marketing v3 simulator: the audience, merge fields, members and batches.

May import: the standard library and :mod:`syncer.sandbox`'s shared parts; nothing of syncer.
"""
