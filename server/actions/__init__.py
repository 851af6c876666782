"""Corrective actions: what a station must fix after an inspection, and the evidence that it did."""
