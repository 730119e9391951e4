"""Prompting: the versioned judge prompt, and its rewrite from the patterns a learner found."""
