"""A runnable simulator of an Econobis instance (read side), faithful to ../shared/contracts/econobis.md."""
