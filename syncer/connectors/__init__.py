"""The vendors' APIs as Python calls: one package per vendor, on one shared HTTP layer.

``http`` is the only place that talks to the network (timeouts, retries, Retry-After, call
counts), with ``body`` reading each answer within its deadline and size cap and ``redact``
scrubbing credentials; ``answers`` (what an answer must hold, how a failure is classified),
``paging`` and ``ratelimit`` are pure. Each
vendor package (``hubspot/``, ``mailchimp/``) turns answers into :mod:`syncer.core.models` values
and knows nothing of the cache. A new vendor is a new folder here.

May import: the standard library, requests (and its urllib3) and backoff, :mod:`syncer.config`,
:mod:`syncer.errors`, :mod:`syncer.core` and itself; never the cache, a run or the operator's side.
"""
