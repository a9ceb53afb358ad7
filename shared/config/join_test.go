package config

import (
	"slices"
	"strings"
	"testing"
)

// TestJoinSettings: the join settings default to what keeps a deployment working
// (require_approval, no roles, 60 requests per source and minute, 3 emails per address
// and day), and refuse what they cannot mean, naming the setting.
func TestJoinSettings(t *testing.T) {
	c, err := load(t, baseEnv(), nil, API)
	if err != nil {
		t.Fatal(err)
	}
	if c.JoinPolicy != "" || c.JoinRoles != nil || c.JoinPerSourceMinute != 60 || c.JoinMailsPerDay != 3 {
		t.Errorf("defaults: policy %q roles %v per source %d mails %d", c.JoinPolicy, c.JoinRoles, c.JoinPerSourceMinute, c.JoinMailsPerDay)
	}
	env := baseEnv()
	env["JOIN_POLICY"], env["JOIN_ROLES"], env["JOIN_PER_SOURCE_MINUTE"], env["JOIN_MAILS_PER_DAY"] = "auto_approve", "rol_a, rol_b", "0", "5"
	if c, err = load(t, env, nil, API); err != nil {
		t.Fatal(err)
	}
	if c.JoinPolicy != "auto_approve" || !slices.Equal(c.JoinRoles, []string{"rol_a", "rol_b"}) || c.JoinPerSourceMinute != -1 || c.JoinMailsPerDay != 5 {
		t.Errorf("set: policy %q roles %v per source %d mails %d", c.JoinPolicy, c.JoinRoles, c.JoinPerSourceMinute, c.JoinMailsPerDay)
	}
	for name, bad := range map[string]string{"JOIN_POLICY": "sometimes", "JOIN_PER_SOURCE_MINUTE": "-1", "JOIN_MAILS_PER_DAY": "0"} {
		env := baseEnv()
		env[name] = bad
		if _, err := load(t, env, nil, API); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: error %v, want one naming it", name, bad, err)
		}
	}
}
