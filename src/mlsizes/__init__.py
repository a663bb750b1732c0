"""mlsizes: curate, validate and version Epoch's dataset of notable ML systems and their sizes.

The Python API (see `mlsizes.api`): `load`, `versions`, `gap_test` and `fit_trend`. They are imported on first
use, so `import mlsizes` and `mlsizes --help` stay fast (pandas and the analysis load only when called). They
need pandas, numpy and scipy only: `pip install mlsizes` is enough to read and analyse the data; the pipeline
(DVC, pandera, Great Expectations, the figures) is the extra `mlsizes[pipeline]`.
"""

__version__ = "0.1.0"
__all__ = ["fit_trend", "gap_test", "load", "versions"]


def __getattr__(name: str):
    if name in __all__:
        from mlsizes import api

        return getattr(api, name)
    raise AttributeError(f"module 'mlsizes' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The API first-class in `dir(mlsizes)` and tab completion, though imported only on first use."""
    return sorted({*globals(), *__all__})
