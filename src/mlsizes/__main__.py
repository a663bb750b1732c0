"""`python -m mlsizes`: the same command line as `mlsizes`."""

from mlsizes.cli import main

main()
