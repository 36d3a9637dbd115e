"""Vision: frame sources, face backends, member gallery, face tracking."""
