package mailbox_test

import (
	"errors"
	"testing"

	"github.com/doormanhq/doorman/shared/mailbox"
)

// Every spelling of one mailbox has one key, and Normalize gives the ASCII form
// delivery uses.
func TestOneMailboxOneKey(t *testing.T) {
	tests := []struct {
		name      string
		spellings []string
		key       string
		normal    string // Normalize of the first spelling
	}{
		{"IDN domain", []string{
			"ann@bücher.de",
			"ann@ｂüｃｈｅｒ.de",        // full-width letters
			"ann@bu\u0308cher.de",  // NFD: u and a combining diaeresis
			"ann@xn--bcher-kva.de", // Punycode
			"ann@XN--BCHER-KVA.DE",
			"ann@BÜCHER.DE",
			"ann@bücher。de", // ideographic full stop
			" ann@bücher.de ",
		}, "ann@xn--bcher-kva.de", "ann@xn--bcher-kva.de"},
		{"full-width ASCII domain", []string{
			"Ann@Example.com",
			"ann@ｅｘａｍｐｌｅ．ｃｏｍ",
			"ANN@EXAMPLE.COM",
			"ann@exa\u200bmple.com", // a zero-width space IDNA maps away
		}, "ann@example.com", "Ann@example.com"},
		{"decomposed local part", []string{"re\u0301my@example.com", "rémy@example.com"}, "rémy@example.com", "rémy@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.spellings {
				if got := mailbox.Key(s); got != tt.key {
					t.Errorf("Key(%q): got %q, want %q", s, got, tt.key)
				}
			}
			if got, err := mailbox.Normalize(tt.spellings[0]); err != nil || got != tt.normal {
				t.Errorf("Normalize(%q): got %q, %v, want %q", tt.spellings[0], got, err, tt.normal)
			}
		})
	}
}

// TestASCIIKeysUnchanged pins the keys of ASCII addresses: deployed DynamoDB items
// (reservations, organization lookups, list indexes) are keyed by them, and they are
// what earlier versions made: the address trimmed and lower-cased.
func TestASCIIKeysUnchanged(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":           "ann@example.com",
		"  Ann.Smith@Example.COM ":  "ann.smith@example.com",
		"BOB+tag@Sub.Example.co.uk": "bob+tag@sub.example.co.uk",
		"o'neil@xn--bcher-kva.de":   "o'neil@xn--bcher-kva.de",
		"x@a-b.example":             "x@a-b.example",
		// Domains IDNA refuses keep the key they had.
		"u@under_score.example.com": "u@under_score.example.com",
		"u@AB--CD.example":          "u@ab--cd.example",
		"no-at-sign":                "no-at-sign",
		"trailing@":                 "trailing@",
		"":                          "",
	} {
		if got := mailbox.Key(in); got != want {
			t.Errorf("Key(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeRefusesWhatIDNARefuses(t *testing.T) {
	for _, in := range []string{
		"ann@under_score.example",
		"ann@ab--cd.example",
		"ann@xn--zz.example", // not Punycode
		"ann@-lead.example",
		"ann@",
		"ann@exa mple.com",
	} {
		if got, err := mailbox.Normalize(in); !errors.Is(err, mailbox.ErrDomain) {
			t.Errorf("Normalize(%q): got %q, %v, want ErrDomain", in, got, err)
		}
	}
}
