"""Turning metrics into figures and words: shared by the report, the dataset card, the site and the chart diff."""
