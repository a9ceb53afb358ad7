package httpapi_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/doormanhq/doorman/shared/httpapi"
)

func TestClaimsFromMap(t *testing.T) {
	cases := []struct {
		name    string
		claims  string // JSON
		want    httpapi.Claims
		wantErr bool
	}{
		{"decoded JWT with a permissions array",
			`{"sub":"auth0|1","permissions":["create:invitations","read:invitations"],"scope":"openid","org_id":"org_acme","name":"Ann"}`,
			httpapi.Claims{Sub: "auth0|1", Permissions: []string{"create:invitations", "read:invitations"}, Scope: "openid", OrgID: "org_acme", Name: "Ann"}, false},
		{"API Gateway flattened array",
			`{"sub":"auth0|1","permissions":"[create:invitations read:invitations]","exp":"1612061676"}`,
			httpapi.Claims{Sub: "auth0|1", Permissions: []string{"create:invitations", "read:invitations"}}, false},
		{"API Gateway flattened single element", `{"sub":"auth0|1","permissions":"[read:invitations]"}`,
			httpapi.Claims{Sub: "auth0|1", Permissions: []string{"read:invitations"}}, false},
		{"API Gateway flattened empty array", `{"sub":"auth0|1","permissions":"[]"}`,
			httpapi.Claims{Sub: "auth0|1", Permissions: []string{}}, false},
		{"JSON array in a string", `{"sub":"auth0|1","permissions":"[\"read:invitations\"]"}`,
			httpapi.Claims{Sub: "auth0|1", Permissions: []string{"read:invitations"}}, false},
		{"scope only", `{"sub":"client@clients","scope":"create:invitations read:invitations"}`,
			httpapi.Claims{Sub: "client@clients", Scope: "create:invitations read:invitations"}, false},
		{"machine token", `{"sub":"client@clients","scope":"create:invitations","gty":"client-credentials"}`,
			httpapi.Claims{Sub: "client@clients", Scope: "create:invitations", Gty: "client-credentials"}, false},
		{"gty not a string", `{"sub":"client@clients","gty":["client-credentials"]}`, httpapi.Claims{}, true},
		{"no sub", `{"permissions":[]}`, httpapi.Claims{}, true},
		{"sub not a string", `{"sub":7}`, httpapi.Claims{}, true},
		{"permission not a string", `{"sub":"a","permissions":["x",1]}`, httpapi.Claims{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(tc.claims), &m); err != nil {
				t.Fatal(err)
			}
			got, err := httpapi.ClaimsFromMap(m)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ClaimsFromMap error = %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ClaimsFromMap = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClaimsContext(t *testing.T) {
	if _, ok := httpapi.ClaimsFrom(context.Background()); ok {
		t.Error("ClaimsFrom(empty context) ok = true, want false")
	}
	want := httpapi.Claims{Sub: "auth0|1", Scope: "read:invitations"}
	got, ok := httpapi.ClaimsFrom(httpapi.WithClaims(context.Background(), want))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("ClaimsFrom = %+v, %v; want %+v, true", got, ok, want)
	}
}
