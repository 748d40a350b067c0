package notify

import "strings"

// adfNode is a node of the Atlassian Document Format, the rich-text JSON
// that Jira Cloud's REST API v3 takes for descriptions and comments.
type adfNode struct {
	Type    string    `json:"type"`
	Version int       `json:"version,omitempty"`
	Text    string    `json:"text,omitempty"`
	Content []adfNode `json:"content,omitempty"`
}

// adfDocument turns the plain text of a rendered ticket into an ADF
// document: blank lines separate paragraphs, lines within a paragraph are
// joined by hard breaks, and runs of lines starting with "- " become a
// bullet list.
func adfDocument(text string) adfNode {
	doc := adfNode{Type: "doc", Version: 1}
	var para []string
	var items []string
	flushPara := func() {
		if len(para) > 0 {
			doc.Content = append(doc.Content, adfParagraph(para))
			para = nil
		}
	}
	flushList := func() {
		if len(items) > 0 {
			list := adfNode{Type: "bulletList"}
			for _, it := range items {
				list.Content = append(list.Content, adfNode{Type: "listItem", Content: []adfNode{adfParagraph([]string{it})}})
			}
			doc.Content = append(doc.Content, list)
			items = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, " \t")
		switch {
		case strings.TrimSpace(line) == "":
			flushPara()
			flushList()
		case strings.HasPrefix(line, "- ") && strings.TrimSpace(line[2:]) != "":
			flushPara()
			items = append(items, strings.TrimSpace(line[2:]))
		default:
			flushList()
			para = append(para, line)
		}
	}
	flushPara()
	flushList()
	if len(doc.Content) == 0 {
		// A document needs a block; an empty paragraph is one.
		doc.Content = []adfNode{{Type: "paragraph"}}
	}
	return doc
}

// adfParagraph joins lines with hard breaks.
func adfParagraph(lines []string) adfNode {
	p := adfNode{Type: "paragraph"}
	for i, l := range lines {
		if i > 0 {
			p.Content = append(p.Content, adfNode{Type: "hardBreak"})
		}
		p.Content = append(p.Content, adfNode{Type: "text", Text: l})
	}
	return p
}
