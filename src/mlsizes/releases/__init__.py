"""Versions, releases and diffs: files read at a git revision, the list of releases, and what changed between two
versions (records, metrics, the overlaid figure)."""
