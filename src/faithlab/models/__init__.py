"""Models: the `Classifier`, its loader, per-architecture adapters and the zoo of small models."""

from faithlab.models.adapters import FAMILIES, Adapter, adapter_for
from faithlab.models.batch import Batch
from faithlab.models.classifier import Classifier
from faithlab.models.loading import load_classifier

__all__ = ["FAMILIES", "Adapter", "Batch", "Classifier", "adapter_for", "load_classifier"]
