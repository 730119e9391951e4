"""Bundled resources: the default character brief, example rater profiles and the demo voices.

In a checkout they sit in the top-level `assets/` folder; installed, they are the package data
of `voicejudge.assets`, so commands find them from any working directory.
"""
