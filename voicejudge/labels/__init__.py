"""Labels: the traced `rank_audio` op, answers as feedback on it, which pairs to ask next, and
simulated raters that answer like a person."""
