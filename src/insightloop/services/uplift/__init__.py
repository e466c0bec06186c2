"""Uplift: evaluate learners on a file, fit on the warehouse's sends, plan whom to contact.

Every public name is importable from the package itself."""

from insightloop.services.uplift.audiences import export_audience
from insightloop.services.uplift.build import OUTCOMES, build_uplift, plan_uplift
from insightloop.services.uplift.evaluate import MODEL_CHOICES, evaluate_uplift_file
from insightloop.services.uplift.tables import ensure_tables

__all__ = ["MODEL_CHOICES", "OUTCOMES", "build_uplift", "ensure_tables", "evaluate_uplift_file",
           "export_audience", "plan_uplift"]
