"""Local simulators of the HubSpot CRM and Mailchimp Marketing APIs, for tests and the demo.

``hubspot/`` and ``mailchimp/`` are one simulator each, on the shared loopback ``server`` with its
``clock`` and ``faults``; ``runner`` serves both side by side (`syncer sandbox`). They are the
vendors' stand-ins, so they import nothing of syncer: only the standard library and this package.
``demo`` (with ``demo_data`` and ``world``) sits on top beside the CLI and may use all of syncer.

Nothing outside this package imports it but :mod:`syncer.cli`.
"""
