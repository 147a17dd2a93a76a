package api

import "testing"

// TestSpreadsheetSafe: an exported cell that a spreadsheet would run as a
// formula is kept as text; others are unchanged.
func TestSpreadsheetSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-2":                       "'-2",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tcmd":                    "'\tcmd",
		"console:ann@acme.test":    "console:ann@acme.test",
		`{"name":"=x"}`:            `{"name":"=x"}`,
		"":                         "",
	} {
		if got := spreadsheetSafe(in); got != want {
			t.Errorf("spreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
