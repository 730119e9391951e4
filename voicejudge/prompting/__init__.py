"""Prompting: the judge prompt, the brief it starts from, and its rewrite from learned patterns."""
