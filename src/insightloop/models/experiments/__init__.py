"""Experiment statistics on sufficient statistics (no I/O): frequentist effects, Bayesian
chance to win, CUPED, confidence sequences, SRM, multiple testing, power, campaign value."""

from insightloop.models.experiments import bayes, checks, cuped, power, sequential
from insightloop.models.experiments.frequentist import (
    Effect,
    moments,
    normal_effect,
    proportions,
    ratio_difference,
    ratio_moments,
    relative,
    welch,
)
from insightloop.models.experiments.value import CampaignValue, campaign_value

__all__ = ["CampaignValue", "Effect", "bayes", "campaign_value", "checks", "cuped", "moments",
           "normal_effect", "power", "proportions", "ratio_difference", "ratio_moments",
           "relative", "sequential", "welch"]
