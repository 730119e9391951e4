"""Judging: a judge prompt and a model (or the fitted rubric) rank takes nobody has ranked yet."""
