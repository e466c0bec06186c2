"""insightloop: model-driven marketing intelligence on an embedded warehouse.

Layers (imports point down only)::

    storage  -> features -> models -> services -> cli / report
"""

from insightloop.errors import InsightloopError

__version__ = "0.1.0"
__all__ = ["InsightloopError", "__version__"]
