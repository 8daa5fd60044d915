"""Step definitions of the MAF-based SAEF (a pytest plugin)."""
