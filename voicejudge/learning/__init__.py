"""Learning: preferred-versus-rejected comparisons in, a rubric and preference patterns out,
starting from what the brief states."""
