"""Local simulators of the HubSpot CRM and Mailchimp Marketing APIs, for tests and the demo."""
