"""Hoomdossier connector: API v1 client and proxy routes, wire schemas, canonical mapping, coach-link pushes."""
