"""Learning: preferred-versus-rejected comparisons in, a rubric and preference patterns out."""
