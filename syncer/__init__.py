"""syncer: two-way sync between a HubSpot CRM and a Mailchimp audience."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syncer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
