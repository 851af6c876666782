"""Exports: inspections as CSV and XLSX for analysts, one inspection's report as PDF (DESIGN §7)."""
