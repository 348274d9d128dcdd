"""Where data lives: image files (and, later, volume backends)."""
