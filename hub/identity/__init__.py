"""Identity: one home, one id; one person, one id (contracts/woningpas_premiums.md §4.2).

- `types`: what an address register answered about a dwelling (connectors fill it);
- `resolve`: the answers → register keys, or match candidates;
- `candidates`: the candidates a person decides, with their evidence;
- `decide`: merge / keep apart / undo, applied with provenance;
- `residents`: residents that partners share no id for, scored as pairs (Splink)."""
