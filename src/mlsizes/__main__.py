from mlsizes.cli import main

main()
