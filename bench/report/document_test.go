package report

import (
	"strings"
	"testing"
)

// Markdown and HTML render the same blocks: every table cell, list item
// and heading appears in both, with the markup each format uses, and a
// cell's "|" cannot split a Markdown row.
func TestDocumentRendersBothWays(t *testing.T) {
	d := &Document{}
	d.Add(Heading{2, "Memory: one idle `http` instance"},
		Quote{"**nested.** read ratios"},
		Table{Header: []Text{"target", "note"}, Rows: [][]Text{{"vm", "a | b"}, {"crun", "**fast**"}}},
		List{[]Text{"one <b>", "two"}},
		Image{"chart", "c.svg"},
		Para{"done"})
	md := d.Markdown()
	for _, want := range []string{"## Memory: one idle `http` instance\n", "> **nested.** read ratios\n",
		"| target | note |\n|---|---|\n| vm | a / b |\n| crun | **fast** |\n", "- one <b>\n- two\n", "![chart](c.svg)\n", "\ndone\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	html := d.HTML(map[string][]byte{"c.svg": []byte(`<?xml version="1.0"?><svg id="c"></svg>`)})
	for _, want := range []string{"<h2>Memory: one idle <code>http</code> instance</h2>", "<blockquote><strong>nested.</strong> read ratios</blockquote>",
		"<tr><th>target</th><th>note</th></tr>", "<tr><td>vm</td><td>a | b</td></tr>", "<td><strong>fast</strong></td>",
		"<li>one &lt;b&gt;</li>", `<svg id="c"></svg>`, "<p>done</p>"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<?xml") {
		t.Error("the inline SVG kept its XML prologue")
	}
}
