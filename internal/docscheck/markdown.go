// Package docscheck reads the project's Markdown the way GitHub renders it, enough to hold the docs
// to the repository: the anchors its headings get and the links it makes, outside code blocks.
// Its tests hold README.md, docs/*.md and layer/README.md to the files and headings they link to.
package docscheck

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Link is one Markdown link or image: its target as written and the 1-based line it is on.
type Link struct {
	Target string
	Line   int
}

var (
	heading = regexp.MustCompile(`^#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$`)
	// inline links and images: [text](target) or ![alt](target "title"); the target ends at the
	// first space or closing parenthesis, as in the docs (no parentheses inside targets).
	link = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
)

// prose calls fn with every line outside fenced code blocks (``` or ~~~), and its 1-based number.
func prose(markdown string, fn func(line string, n int)) {
	fence := ""
	for i, line := range strings.Split(markdown, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		fn(line, i+1)
	}
}

// Anchor is the fragment GitHub gives a heading's text: lower case, inline code marks and
// punctuation dropped, spaces turned into hyphens. Letters, digits, '-' and '_' are kept.
func Anchor(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Anchors lists the fragments a page's headings can be linked by. A heading text seen before gets
// GitHub's suffix: the second "Usage" is usage-1, the third usage-2.
func Anchors(markdown string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	prose(markdown, func(line string, _ int) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			return
		}
		a := Anchor(m[1])
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	})
	return anchors
}

// Links lists the page's links and images outside code blocks and inline code.
func Links(markdown string) []Link {
	var links []Link
	code := regexp.MustCompile("`[^`]*`")
	prose(markdown, func(line string, n int) {
		for _, m := range link.FindAllStringSubmatch(code.ReplaceAllString(line, ""), -1) {
			links = append(links, Link{Target: m[1], Line: n})
		}
	})
	return links
}

// Lines counts a file's lines as wc -l and an editor do: a last line without a newline counts.
func Lines(text string) int {
	n := strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		n++
	}
	return n
}
