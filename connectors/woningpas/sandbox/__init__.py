"""The sandbox Woningpas [MOD]: contracts/woningpas_premiums.md §6.3 on loopback, with an admin API."""
