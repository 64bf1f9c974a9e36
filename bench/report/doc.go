// Package report renders a bench run's results: report.md and a
// self-contained report.html from one document model, the charts (SVG
// and PNG), the claims table with its verdicts, and the comparison of
// two runs.
package report
