"""Command-line interface: parses, prompts and renders; the work is in the core."""
