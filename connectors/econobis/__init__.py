"""Econobis (NL CRM): SPA read client, wire schemas, mapping to canonical, the pull, and a faithful sandbox."""
