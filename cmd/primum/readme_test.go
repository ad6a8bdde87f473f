package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every primum command line of the README's shell blocks names a command
// that exists, with flags it has, values those flags take and as many
// arguments as it wants: a newcomer copying the tour never meets an
// "unknown flag" or "invalid argument". The tour also runs only what a Linux
// machine has once the README has said what to install (no macOS 'open';
// jq only with how to get it).
func TestReadmeCommandLinesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	cmds := shellCommands(readme)
	primum, jq := 0, false
	for _, words := range cmds {
		if words[0] == "open" {
			t.Errorf("the README opens a page with macOS's 'open': %q", strings.Join(words, " "))
		}
		jq = jq || words[0] == "jq"
		if words[0] != "./primum" {
			continue
		}
		primum++
		line := strings.Join(words, " ")
		root := newRoot()
		cmd, rest, err := root.Find(words[1:])
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		cmd.InitDefaultHelpFlag()
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if cmd.Flags().Changed("help") {
			continue
		}
		for _, check := range []func() error{
			func() error { return cmd.ValidateArgs(cmd.Flags().Args()) },
			cmd.ValidateRequiredFlags,
			cmd.ValidateFlagGroups,
		} {
			if err := check(); err != nil {
				t.Errorf("%s: %v", line, err)
			}
		}
	}
	if jq && !strings.Contains(readme, "apt-get install jq") {
		t.Errorf("the README uses jq without saying how to install it")
	}
	if primum < 40 {
		t.Fatalf("found only %d primum command lines in the README: is the reader broken?", primum)
	}
}

// shellCommands reads the simple commands of a Markdown text's sh blocks,
// those inside $(…) too, as their words (quotes removed, a substitution
// standing for itself), without the variable assignments and loop keywords
// before them.
func shellCommands(markdown string) [][]string {
	var out [][]string
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(markdown, -1)
	var add func(line string)
	add = func(line string) {
		toks, subs := shellSplit(line)
		var words []string
		flush := func() {
			for len(words) > 0 && (regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) ||
				words[0] == "do" || words[0] == "then" || words[0] == "done") {
				words = words[1:]
			}
			if len(words) > 0 {
				out = append(out, words)
			}
			words = nil
		}
		for _, tok := range toks {
			if tok.op {
				flush()
			} else {
				words = append(words, tok.word)
			}
		}
		flush()
		for _, s := range subs {
			add(s)
		}
	}
	for _, b := range blocks {
		for _, line := range strings.Split(strings.ReplaceAll(b[1], "\\\n", " "), "\n") {
			add(line)
		}
	}
	return out
}

type shellTok struct {
	word string
	op   bool // | ; &
}

// shellSplit splits one line of shell into words and operators, up to a
// comment, and returns the text of each $(…) in it, for the commands there.
func shellSplit(s string) (toks []shellTok, subs []string) {
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, shellTok{word: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
			i++
		case c == '#' && !inWord:
			flush()
			return toks, subs
		case c == '|' || c == ';' || c == '&':
			flush()
			toks = append(toks, shellTok{word: string(c), op: true})
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					cur.WriteByte(s[i+1])
					i += 2
				case strings.HasPrefix(s[i:], "$("):
					inner, n := substitution(s[i+2:])
					subs = append(subs, inner)
					cur.WriteString("$(" + inner + ")")
					i += 2 + n
				default:
					cur.WriteByte(s[i])
					i++
				}
			}
			i++
		case strings.HasPrefix(s[i:], "$("):
			inner, n := substitution(s[i+2:])
			subs = append(subs, inner)
			cur.WriteString("$(" + inner + ")")
			inWord = true
			i += 2 + n
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			inWord = true
			i += 2
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	flush()
	return toks, subs
}

// substitution reads s, which follows a "$(", to its matching ")": the text
// inside, and how many bytes of s that took with the ")".
func substitution(s string) (string, int) {
	depth := 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			if j := strings.IndexByte(s[i+1:], '\''); j >= 0 {
				i += j + 1
			}
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				} else if strings.HasPrefix(s[i:], "$(") {
					_, n := substitution(s[i+2:])
					i += 1 + n
				}
			}
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return s[:i], i + 1
			}
		}
	}
	return s, len(s)
}
