"""The user's ways in: the command line, the ranking desk and its Gradio page, and `doctor`."""
