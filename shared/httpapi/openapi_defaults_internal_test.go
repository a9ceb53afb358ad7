package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRequestSchemasHaveNoDefault keeps the `default` keyword out of every schema a
// request body uses: openapi-typescript (7.x) turns a defaulted property into a
// required one, so a strict TypeScript caller would have to send what the API says is
// optional. Defaults are stated in the field's description instead. (The generator
// itself is run on the document by clients/typescript's tests.)
func TestRequestSchemasHaveNoDefault(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if !seen[name] {
					seen[name] = true
					walk(name, schemas[name])
				}
			}
			if _, ok := v["default"]; ok {
				t.Errorf("%s: a request schema has `default`; state the default in the description", path)
			}
			for k, sub := range v {
				walk(path+"."+k, sub)
			}
		case []any:
			for _, sub := range v {
				walk(path, sub)
			}
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	bodies := 0
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for method, op := range ops {
			if body := dig(op, "requestBody"); body != nil {
				bodies++
				walk(method+" "+p, body)
			}
		}
	}
	if bodies == 0 || !seen["CreateInvitation"] {
		t.Fatalf("walked %d request bodies (CreateInvitation seen: %v); want the document's", bodies, seen["CreateInvitation"])
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
