"""MBG/NBD ("modified BG/NBD"): BG/NBD with dropout possible right after the first purchase."""

from __future__ import annotations

from insightloop.models.clv.bgnbd import BetaGeoModel


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), by maximum likelihood or MAP.

    Same assumptions as :class:`~insightloop.models.clv.bgnbd.BetaGeoModel` except that a
    customer may drop out right after *every* purchase, the first (trial) one included,
    with probability ``p ~ Beta(a, b)``. In BG/NBD a customer with no repeat purchase is
    alive with probability 1 whatever their silence; here the longer a one-time buyer is
    silent the less likely they are alive, which is what ranks one-time buyers sensibly
    on retail data (many one-time buyers).

    Per customer, with ``x`` repeat purchases, last at ``t_x``, observed to ``T``:

    ``L = B(a, b+x+1)/B(a, b) * G(r+x) alpha^r / G(r) * [(alpha+T)^-(r+x)
    + a/(b+x) (alpha+t_x)^-(r+x)]``; ``P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``.

    Reference: E. P. Batislam, M. Denizel and A. Filiztekin (2007), "Empirical validation
    and comparison of models for customer base analysis", *International Journal of
    Research in Marketing* 24(3), 201-209; the expressions follow *lifetimes*'
    ``ModifiedBetaGeoFitter``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, as in BetaGeoModel.
    dropout_prior : float, default 0.0
        Strength of the log-normal prior on ``a`` and ``b`` (MAP fit).
    """

    _shift = 1
