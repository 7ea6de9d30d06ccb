"""A runnable sandbox Hoomdossier: the inbound API v1 (register, coach link, ping), the outbound job queue that
posts to Econobis, the scheduled commands, and an admin API for scenarios (contracts/hoomdossier.md §5)."""
