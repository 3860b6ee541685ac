"""The web layer: blueprints for patrons, staff, the JSON API and operations."""
