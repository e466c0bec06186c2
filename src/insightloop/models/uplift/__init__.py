"""Uplift modelling: meta-learners on LightGBM (:mod:`.learners`), metrics (:mod:`.metrics`),
balance checks (:mod:`.balance`) and the targeting plan (:mod:`.plan`)."""
