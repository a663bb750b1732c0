"""The contracts and the record rules: what a raw snapshot, a record and a dataset must be (from schemas/), how
values are parsed, how contribution files are read as untrusted text, and how typed rows become curated records
and rejects."""
