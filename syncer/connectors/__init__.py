"""The vendors' APIs as Python calls: one package per vendor, on one shared HTTP layer.

``http`` is the only place that talks to the network (timeouts, retries, Retry-After, redaction,
call counts); ``paging`` and ``ratelimit`` are the pure arithmetic of pages and throttles. Each
vendor package (``hubspot/``, ``mailchimp/``) turns answers into :mod:`syncer.core.models` values
and knows nothing of the cache. A new vendor is a new folder here.

May import: the standard library, requests and backoff, :mod:`syncer.config`,
:mod:`syncer.errors`, :mod:`syncer.core` and itself; never the cache, a run or the operator's side.
"""
