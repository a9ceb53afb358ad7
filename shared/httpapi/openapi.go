package httpapi

import (
	_ "embed"
)

// openapiJSON is the OpenAPI 3.1 document of every route, as served. It is generated
// from openapi.yaml (the source to edit) by
//
//	go test ./shared/httpapi -run TestOpenAPIJSONIsCurrent -update
//
// and that test fails when the two differ. Serving the JSON as embedded keeps the
// YAML parser out of the function and its cold start.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPIJSON returns the OpenAPI document as GET /v1/openapi.json serves it. The
// handler tests validate every request and response against it.
func OpenAPIJSON() ([]byte, error) { return openapiJSON, nil }
