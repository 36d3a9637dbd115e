"""Both ends of the store <-> headquarters link."""
