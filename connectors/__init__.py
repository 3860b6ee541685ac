"""SIGB connectors shipped with Sésame, each a plugin of its own."""
