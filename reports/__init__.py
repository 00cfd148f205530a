"""Reports: the gold commanders' monthly report and the security inspection (docs/reports.md)."""
