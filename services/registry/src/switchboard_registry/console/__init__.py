"""The registry's web console at ``/admin``: Jinja2 pages, htmx for live parts, every asset served here."""
