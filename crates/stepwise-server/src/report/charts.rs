//! Server-rendered SVG charts of a report.
