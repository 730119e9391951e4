"""Evaluation: how well a judge agrees with the person on held-out comparisons."""
