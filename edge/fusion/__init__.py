"""Fusion: zone sessions (visits, try-ons, exits) joining members to products."""
