"""Assignments (who inspects which station with which template, by when) and recurring schedules."""
