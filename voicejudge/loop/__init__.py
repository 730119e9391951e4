"""The loop: rounds of learn → rewrite → evaluate over stored feedback, their lineage and report."""
