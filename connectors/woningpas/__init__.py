"""Woningpas (Flanders' housing passport), modelled: a sandbox and a client so far; the pull comes next."""
