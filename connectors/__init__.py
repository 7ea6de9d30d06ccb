"""Partner connectors: one self-contained folder per partner (client, schemas, mapping, routes, sandbox)."""
