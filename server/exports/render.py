"""The PDF report's entry point for the image workers: the typesetting (fpdf, fontTools, about 0.3 s
of a core to import) is imported there, at the first report a worker renders, never in the server
process, which neither pays for it at start nor stalls its event loop on the first report."""

from __future__ import annotations

from server.exports.models import ReportData


def render_report(data: ReportData) -> bytes:
    from server.exports.pdf import render_report as typeset

    return typeset(data)
