"""Labels: the traced `rank_audio` op, a person's rankings as feedback on it, and pair choice."""
