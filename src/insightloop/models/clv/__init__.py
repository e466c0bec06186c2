"""Customer lifetime value models: BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, CLV and summaries."""

from insightloop.models.clv.bgnbd import BetaGeoModel
from insightloop.models.clv.data import summary_from_transactions
from insightloop.models.clv.gamma_gamma import GammaGammaModel
from insightloop.models.clv.lifetime_value import customer_lifetime_value
from insightloop.models.clv.mbgnbd import ModifiedBetaGeoModel
from insightloop.models.clv.pareto_nbd import ParetoNBDModel

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "summary_from_transactions",
]
