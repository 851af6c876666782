"""Template export and import: moving a template between installations as one JSON file."""
