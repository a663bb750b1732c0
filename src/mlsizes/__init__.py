"""mlsizes: curate, validate and version Epoch's dataset of notable ML systems and their sizes."""

__version__ = "0.1.0"
