"""The statistics: the gap study on a table of systems (selection, trend fits, gap tests, windows, clusters) and
the tests and estimators it is built from."""
