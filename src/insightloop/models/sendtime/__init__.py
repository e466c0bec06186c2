"""Send-time optimisation from engagement history, with a population fallback."""
