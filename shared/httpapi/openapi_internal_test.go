package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite openapi.json from openapi.yaml, and the golden pages")

// TestOpenAPIJSONIsCurrent keeps the served openapi.json equal to openapi.yaml, the
// document's source.
func TestOpenAPIJSONIsCurrent(t *testing.T) {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	want, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatalf("openapi.yaml as JSON: %v", err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("openapi.json is not openapi.yaml as JSON; run: go test ./shared/httpapi -run TestOpenAPIJSONIsCurrent -update")
	}
	if !bytes.Equal(openapiJSON, want) {
		t.Fatalf("the embedded document differs from openapi.json on disk")
	}
}
