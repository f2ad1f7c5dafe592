"""faithlab: explain transformer text classifiers and measure how far each explanation can be trusted."""

from faithlab.errors import FaithlabError

__version__ = "0.1.0"

__all__ = ["FaithlabError", "__version__"]
