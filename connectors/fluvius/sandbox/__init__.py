"""The premium portal simulator (notes/premiums-design.md, contracts/woningpas_premiums.md §6.4)."""
